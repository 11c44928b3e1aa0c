"""net.http against a real HTTP server on 127.0.0.1, run through the real engine."""

from __future__ import annotations

import email.utils

import pytest

from engine.compile import compile_workflow
from engine.context import REDACTED
from engine.errors import CompileError
from nodes.http import TYPES, HttpRequest, retry_after_seconds
from tests.servers.workflows import registry_with, run_node, single_node_workflow

pytest_plugins = ["tests.servers.fixtures"]

REGISTRY = registry_with(*TYPES)
FAST = {"backoff_s": 0.01}


async def http(params: dict, inputs: dict | None = None, **options):
    return await run_node(REGISTRY, "net.http", params, inputs, **options)


@pytest.mark.asyncio
async def test_get_outputs_status_headers_parsed_json_and_text(web_server):
    outcome = await http({"url": f"{web_server.url}/echo", "query": {"q": "fish", "n": 3}})
    assert outcome.ok, outcome.error
    response = outcome.outputs["response"]
    assert response["status"] == 200
    assert response["headers"]["x-test-server"] == "flowloom"
    assert response["json"]["method"] == "GET"
    assert response["json"]["query"] == {"q": "fish", "n": "3"}
    assert '"method": "GET"' in response["text"]


@pytest.mark.asyncio
async def test_url_headers_query_and_json_are_templates_over_the_input(web_server):
    params = {"method": "POST", "url": web_server.url + "/echo/{{ in.id }}",
              "headers": {"X-Item": "{{ in['name'] | upper }}"},
              "query": {"tag": "{{ input.tags[0] }}"},
              "json": {"id": "{{ in.id }}", "label": "item {{ in.name }}", "fixed": [1, True]}}
    outcome = await http(params, {"in": {"id": 7, "name": "box", "tags": ["red"]}})
    assert outcome.ok, outcome.error
    seen = web_server.requests[-1]
    assert seen.method == "POST"
    assert seen.path == "/echo/7"
    assert seen.headers["x-item"] == "BOX"
    assert seen.query == {"tag": "red"}
    # A string that is exactly one expression keeps its type: the id stays a number.
    assert seen.json == {"id": 7, "label": "item box", "fixed": [1, True]}


@pytest.mark.asyncio
async def test_text_body_is_sent_with_its_content_type(web_server):
    params = {"method": "PUT", "url": f"{web_server.url}/echo", "body": "name={{ in }}",
              "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    outcome = await http(params, {"in": "ada"})
    assert outcome.ok, outcome.error
    seen = web_server.requests[-1]
    assert seen.body == b"name=ada"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.asyncio
async def test_an_undefined_template_name_fails_naming_the_field(web_server):
    params = {"method": "POST", "url": f"{web_server.url}/echo", "json": {"id": "{{ in.nope }}"}}
    outcome = await http(params, {"in": {"id": 1}})
    assert not outcome.ok
    assert "json.id" in outcome.error and "nope" in outcome.error
    assert web_server.requests == []


@pytest.mark.asyncio
async def test_a_flaky_endpoint_is_retried_until_it_answers(web_server):
    outcome = await http({"url": f"{web_server.url}/flaky/a?fail=2", "retries": 2, **FAST})
    assert outcome.ok, outcome.error
    assert outcome.outputs["response"]["json"] == {"ok": True, "attempt": 3}
    assert len(web_server.requests_to("/flaky/a")) == 3
    warnings = [e.message for e in outcome.logs() if e.level == "warning"]
    assert len(warnings) == 2 and "503" in warnings[0] and "retry 1 of 2" in warnings[0]
    assert any("-> 200 OK" in e.message for e in outcome.logs() if e.level == "info")


@pytest.mark.asyncio
async def test_when_retries_run_out_the_error_names_method_url_and_status(web_server):
    url = f"{web_server.url}/flaky/b?fail=9&status=502"
    outcome = await http({"method": "DELETE", "url": url, "retries": 1, **FAST})
    assert not outcome.ok
    assert f"DELETE {url} answered 502 Bad Gateway" in outcome.error
    assert "failure 2" in outcome.error  # the body of the last answer is quoted
    assert len(web_server.requests_to("/flaky/b")) == 2


@pytest.mark.asyncio
async def test_a_client_error_is_not_retried(web_server):
    outcome = await http({"url": f"{web_server.url}/status/404", "retries": 2, **FAST})
    assert not outcome.ok
    assert "404 Not Found" in outcome.error
    assert len(web_server.requests_to("/status/404")) == 1


@pytest.mark.asyncio
async def test_a_429_waits_as_long_as_retry_after_says(web_server):
    outcome = await http({"url": f"{web_server.url}/limited/c?times=1&after=1", **FAST})
    assert outcome.ok, outcome.error
    first, second = web_server.requests_to("/limited/c")
    # backoff_s alone would wait 0.01 s; the server asked for a whole second.
    assert second.t - first.t >= 0.95
    retry_log = outcome.logs()[0].message
    assert "429" in retry_log and "in 1.00 s" in retry_log


@pytest.mark.asyncio
async def test_a_retry_after_beyond_the_cap_is_not_waited_for(web_server):
    url = f"{web_server.url}/status/503?retry_after=3600"
    outcome = await http({"url": url, "retries": 2, **FAST})
    assert not outcome.ok
    assert "503 Service Unavailable" in outcome.error
    assert len(web_server.requests_to("/status/503")) == 1
    assert any("3600" in e.message for e in outcome.logs())


@pytest.mark.asyncio
async def test_connect_errors_are_retried_then_fail_clearly(dead_url):
    outcome = await http({"method": "POST", "url": f"{dead_url}/x", "json": {"a": 1},
                          "retries": 2, **FAST})
    assert not outcome.ok
    assert f"POST {dead_url}/x failed (after 3 attempts): could not connect" in outcome.error
    assert len([e for e in outcome.logs() if e.level == "warning"]) == 2


@pytest.mark.asyncio
async def test_a_slow_endpoint_times_out_with_a_clear_error(web_server):
    outcome = await http({"url": f"{web_server.url}/slow?delay=5", "timeout_s": 0.3,
                          "retries": 0})
    assert not outcome.ok
    assert "/slow?delay=5 failed: no answer within 0.3 s" in outcome.error


@pytest.mark.asyncio
async def test_with_fail_on_status_off_an_error_answer_is_an_output(web_server):
    outcome = await http({"url": f"{web_server.url}/status/418", "fail_on_status": False})
    assert outcome.ok, outcome.error
    response = outcome.outputs["response"]
    assert response["status"] == 418
    assert response["json"] == {"status": 418, "reason": "I'm a Teapot"}


@pytest.mark.asyncio
async def test_a_body_that_is_not_json_gives_json_none_and_the_text(web_server):
    outcome = await http({"url": f"{web_server.url}/bad-json"})
    assert outcome.ok, outcome.error
    assert outcome.outputs["response"]["json"] is None
    assert outcome.outputs["response"]["text"] == "{not json"


@pytest.mark.asyncio
async def test_the_credential_is_sent_as_bearer_and_redacted_everywhere(web_server):
    token = "tok-SECRET-4242"
    outcome = await http({"url": f"{web_server.url}/status/401?echo=1", "auth_secret": "api"},
                         secrets={"api": token})
    assert web_server.requests[-1].headers["authorization"] == f"Bearer {token}"
    assert not outcome.ok
    assert "401 Unauthorized" in outcome.error
    # The server quoted the header back; the run redacts the token from the node error.
    assert REDACTED in outcome.error
    assert token not in outcome.error
    assert token not in outcome.text_of_events()
    assert token not in (outcome.result.error or "")


@pytest.mark.asyncio
async def test_a_bare_credential_can_go_in_a_custom_header(web_server):
    outcome = await http({"url": f"{web_server.url}/echo", "auth_secret": "api",
                          "auth_header": "X-Api-Key", "auth_scheme": ""},
                         secrets={"api": "k-123"})
    assert outcome.ok, outcome.error
    assert web_server.requests[-1].headers["x-api-key"] == "k-123"
    assert "authorization" not in web_server.requests[-1].headers


@pytest.mark.asyncio
async def test_a_missing_credential_fails_naming_it(web_server):
    outcome = await http({"url": f"{web_server.url}/echo", "auth_secret": "github_token"})
    assert not outcome.ok
    assert "'github_token'" in outcome.error
    assert web_server.requests == []


def test_get_is_pure_and_post_is_an_effect():
    assert HttpRequest({**HttpRequest.defaults(), "url": "http://x"}).is_pure()
    post = HttpRequest.with_defaults({"method": "POST", "url": "http://x"})
    assert not HttpRequest(post).is_pure()


@pytest.mark.parametrize("params, expected", [
    ({"url": "ftp://example.com"}, "must start with http"),
    ({"method": "POST", "url": "http://x", "json": {"a": 1}, "body": "b"}, "not both"),
    ({"url": "http://x", "json": {"a": 1}}, "GET request cannot have a body"),
    ({"url": "http://x/{{ in.id "}, "does not parse"),
    ({"url": "http://x", "headers": {"X-N": 3}}, "header 'X-N' must be a string"),
    ({"url": "http://x", "method": "FETCH"}, "must be one of"),
    ({"url": "http://x", "headers": {"Authorization": "Bearer abc123"}}, "literal credential"),
])
def test_bad_params_are_reported_before_the_run(params, expected):
    workflow = single_node_workflow(REGISTRY, "net.http", params)
    with pytest.raises(CompileError) as caught:
        compile_workflow(workflow, REGISTRY)
    assert expected in str(caught.value)
    assert "node 'node'" in str(caught.value)


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after_seconds(date, now=1_000_000) == pytest.approx(30.0)
    assert retry_after_seconds(date, now=2_000_000) == 0.0
