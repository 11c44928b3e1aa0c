"""The HTTP and LLM templates run headless against the test servers on 127.0.0.1."""

from __future__ import annotations

import json

from tests.servers.llm import reply
from tests.templates.support import approver, point_llms, run, template

pytest_plugins = ["tests.servers.fixtures"]


def test_api_fanout_retries_the_flaky_url_and_branches_on_the_failed_one(web_server):
    base = web_server.url
    out = run(template("api_fanout"), {"users_url": f"{base}/echo",
                                       "posts_url": f"{base}/flaky/posts?fail=2",
                                       "todos_url": f"{base}/status/404"})
    assert out.result.ok, out.result.error
    report = out.outputs["report"]
    assert [(r["source"], r["status"]) for r in report["results"]] == [
        ("users", 200), ("posts", 200), ("todos", 404)]
    assert report["failed"] == ["todos (404)"] and report["verdict"] == "some failed"
    assert len(web_server.requests_to("/flaky/posts")) == 3  # two 503s retried
    assert out.result.nodes["some_bad"].status == "succeeded"
    assert out.result.nodes["all_ok"].status == "skipped"


def test_api_fanout_all_good(web_server):
    base = web_server.url
    out = run(template("api_fanout"), {"users_url": f"{base}/echo", "posts_url": f"{base}/text",
                                       "todos_url": f"{base}/echo?x=1"})
    assert out.outputs["report"]["verdict"] == "all good"


def test_batch_collects_failures_after_retries_while_the_rest_go_on(web_server):
    base = web_server.url
    urls = [f"{base}/echo", f"{base}/flaky/b?fail=2", f"{base}/status/404"]
    out = run(template("batch_errors"), {"urls": urls})
    assert out.result.ok, out.result.error
    assert [r["url"] for r in out.outputs["succeeded"]] == urls[:2]
    failed = out.outputs["failed"]
    assert [f["url"] for f in failed] == [urls[2]] and "404" in failed[0]["error"]
    assert len(web_server.requests_to("/status/404")) == 3  # node retry: 3 attempts
    assert len(web_server.requests_to("/flaky/b")) == 3
    assert any("1 item(s) failed" in m for m in out.logs("report"))


def test_website_watch_remembers_the_value_and_logs_a_change(web_server, tmp_path):
    inputs = {"url": f"{web_server.url}/echo?v=1", "state_file": "watch.json"}
    first = run(template("website_watch"), inputs, base_dir=tmp_path)
    assert first.result.ok, first.result.error
    assert first.outputs["watch"]["first_run"] is True
    assert first.result.nodes["missing"].status == "succeeded"  # no state file yet
    saved = json.loads((tmp_path / "watch.json").read_text(encoding="utf-8"))
    assert saved == {"value": first.outputs["watch"]["value"]}

    same = run(template("website_watch"), inputs, base_dir=tmp_path)
    assert same.outputs["watch"]["changed"] is False
    assert same.result.nodes["log_change"].status == "skipped"

    changed = run(template("website_watch"), dict(inputs, url=f"{web_server.url}/echo?v=2"),
                  base_dir=tmp_path)
    watch = changed.outputs["watch"]
    assert watch["changed"] is True and watch["previous"] == saved["value"]
    assert any(m.startswith("changed: ") for m in changed.logs("log_change"))


def _verdict(consensus: bool, confidence: float) -> str:
    return json.dumps({"consensus": consensus, "confidence": confidence,
                       "summary": "agreed" if consensus else "still apart"})


def test_debate_stops_on_round_two_when_the_judge_sees_consensus(llm_server):
    llm_server.script(reply("A1"), reply("B1"), reply("C1"), reply(_verdict(False, 0.3)),
                      reply("A2"), reply("B2"), reply("C2"), reply(_verdict(True, 0.85)))
    out = run(point_llms(template("debate"), llm_server.url), {"max_rounds": 5})
    assert out.result.ok, out.result.error
    verdict = out.outputs["verdict"]
    assert verdict == {"consensus": True, "confidence": 0.85, "rounds": 2, "summary": "agreed"}
    transcript = out.outputs["transcript"]
    assert [t["round"] for t in transcript] == [1, 1, 1, 2, 2, 2]
    assert {t["speaker"] for t in transcript} == {"Optimist", "Skeptic", "Pragmatist"}
    assert len(llm_server.chat_bodies()) == 8
    # round 2's agents saw round 1, and the judge asked for JSON
    assert "[round 1]" in llm_server.chat_bodies()[4]["messages"][-1]["content"]


def test_debate_hits_the_round_cap_when_the_judge_never_agrees(llm_server):
    for _ in range(3):
        llm_server.script(reply("a"), reply("b"), reply("c"), reply(_verdict(False, 0.2)))
    out = run(point_llms(template("debate"), llm_server.url), {"max_rounds": 3})
    assert out.result.ok, out.result.error
    assert out.outputs["verdict"]["rounds"] == 3
    assert out.outputs["verdict"]["consensus"] is False
    assert len(out.outputs["transcript"]) == 9
    assert len(llm_server.chat_bodies()) == 12


def test_llm_templates_use_the_environment_base_url(llm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    llm_server.script(reply("R"), reply("B"), reply(_verdict(True, 1)))
    decide, asked = approver((True, ""))
    out = run(template("business_plan"), approve=decide)
    assert out.result.ok, out.result.error
    assert len(llm_server.chat_bodies()) == 3


def test_summarise_loops_back_with_the_reviewer_comment_then_writes(llm_server, tmp_path):
    (tmp_path / "notes.txt").write_text("The launch moves to May.", encoding="utf-8")
    llm_server.script(reply("Draft one"), reply("Draft two"))
    decide, asked = approver((False, "Mention the new date"), (True, "fine"))
    out = run(point_llms(template("summarise_approval"), llm_server.url),
              {"source": "notes.txt", "target": "out/summary.md"}, base_dir=tmp_path,
              approve=decide)
    assert out.result.ok, out.result.error
    assert [a.value for a in asked] == ["Draft one", "Draft two"]
    bodies = llm_server.chat_bodies()
    assert len(bodies) == 2
    assert "The launch moves to May." in bodies[0]["messages"][-1]["content"]
    second = bodies[1]["messages"][-1]["content"]
    assert "Mention the new date" in second and "Draft one" in second
    assert (tmp_path / "out" / "summary.md").read_text(encoding="utf-8") == "Draft two"
    assert out.outputs["written"].endswith("summary.md")


def test_summarise_gives_up_after_max_rounds_and_writes_nothing(llm_server, tmp_path):
    (tmp_path / "notes.txt").write_text("text", encoding="utf-8")
    decide, asked = approver(*[(False, f"no {i}") for i in range(2)])
    out = run(point_llms(template("summarise_approval"), llm_server.url),
              {"max_rounds": 2}, base_dir=tmp_path, approve=decide)
    assert out.result.ok, out.result.error
    assert len(asked) == 2 and len(llm_server.chat_bodies()) == 2
    assert out.outputs["not_approved"]["round"] == 2
    assert "no 0" in llm_server.chat_bodies()[1]["messages"][-1]["content"]
    assert not (tmp_path / "summary.md").exists()


def test_business_plan_runs_research_and_branding_before_the_gate(llm_server):
    llm_server.script(reply("market notes"), reply("brand notes"), reply("THE PLAN"))
    decide, asked = approver((True, ""))
    out = run(point_llms(template("business_plan"), llm_server.url), approve=decide)
    assert out.result.ok, out.result.error
    assert out.outputs["plan"] == "THE PLAN"
    brief = asked[0].value
    assert "market notes" in brief and "brand notes" in brief
    systems = [b["messages"][0]["content"] for b in llm_server.chat_bodies()]
    assert "founder" in systems[2]  # the writer came last, after both branches
    assert {"analyst" in s or "strategist" in s for s in systems[:2]} == {True}


def test_business_plan_rejected_brief_writes_no_plan(llm_server):
    decide, _ = approver((False, "too vague"))
    out = run(point_llms(template("business_plan"), llm_server.url), approve=decide)
    assert out.result.ok, out.result.error
    assert "plan" not in out.outputs
    assert out.outputs["decision"]["comment"] == "too vague"
    assert len(llm_server.chat_bodies()) == 2


def test_llm_template_without_a_server_fails_with_the_llm_nodes_message(dead_url):
    out = run(point_llms(template("debate"), dead_url, timeout_s=5.0), limit_s=20)
    assert out.result.status == "failed"
    errors = [nr.error for nr in out.result.nodes.values() if nr.error]
    assert any("cannot reach the openai server" in e for e in errors), errors
