"""net.http bodies and cookies against a real CPython http.server on 127.0.0.1: exact bytes,
charsets, content encodings, per-node cookie jars — and bytes in `flowloom run --json`."""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import lzma
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import brotli
import pytest

from engine.compile import compile_workflow
from engine.context import Services
from engine.errors import CompileError
from engine.executor import Run
from engine.fileformat import save
from engine.model import Edge, Node, Workflow
from nodes.files import TYPES as FILE_TYPES
from nodes.http import TYPES
from nodes.http_body import supported_encodings
from tests.servers.bodies import png, zip_bytes
from tests.servers.workflows import registry_with, run_node

pytest_plugins = ["tests.servers.fixtures"]

REGISTRY = registry_with(*TYPES, *FILE_TYPES)
ROOT = Path(__file__).resolve().parents[2]


async def get(url: str):
    outcome = await run_node(REGISTRY, "net.http", {"url": url, "retries": 0})
    return outcome


async def run_workflow(wf: Workflow, base_dir: Path | None = None):
    run = Run(compile_workflow(wf, REGISTRY), services=Services(base_dir=base_dir))
    events: list[Any] = []
    run.subscribe(events.append)
    async with asyncio.timeout(20):
        result = await run.execute()
    return result, events


# --- binary bodies ------------------------------------------------------------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize(("kind", "make"), [("image/png", png), ("application/zip", zip_bytes)])
async def test_a_binary_body_arrives_as_its_exact_bytes_and_has_no_text(body_server, kind, make):
    body = make()
    outcome = await get(body_server.answer("/file", body, kind))
    assert outcome.ok, outcome.error
    response = outcome.outputs["response"]
    assert response["content"] == body
    assert response["text"] is None and response["json"] is None
    assert response["headers"]["content-type"] == kind


@pytest.mark.asyncio
async def test_file_write_writes_downloaded_bytes_as_they_are(body_server, tmp_path):
    archive = zip_bytes()
    url = body_server.answer("/archive.zip", archive, "application/zip")
    wf = Workflow("download", nodes=[
        Node("fetch", "net.http", params={"url": url}),
        Node("bytes", "data.expression", params={"expr": "x['content']"}),
        Node("save", "file.write", params={"path": "out/archive.zip"}),
    ], edges=[Edge("fetch", "response", "bytes", "x"), Edge("bytes", "out", "save", "content")])
    result, _ = await run_workflow(wf, tmp_path)
    assert result.ok, result.error
    written = (tmp_path / "out" / "archive.zip").read_bytes()
    assert written == archive
    with zipfile.ZipFile(io.BytesIO(written)) as unpacked:
        assert unpacked.read("all-bytes.bin") == bytes(range(256)) * 4


# --- charsets -----------------------------------------------------------------------------------
CHARSETS = [
    # (what the server sends, its Content-Type, the text expected)
    ("café".encode("iso-8859-1"), "text/plain; charset=ISO-8859-1", "café"),
    ("Grüße – 10 €".encode("cp1252"), "text/html; charset=windows-1252", "Grüße – 10 €"),
    ('<html><head><meta charset="shift_jis"></head><body>日本語</body></html>'.encode(
        "shift_jis"), "text/html",
     '<html><head><meta charset="shift_jis"></head><body>日本語</body></html>'),
    ('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>Привет'.encode(
        "koi8-r"), "text/html",
     '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>Привет'),
    ('<?xml version="1.0" encoding="iso-8859-15"?><price>5 €</price>'.encode("iso-8859-15"),
     "application/xml", '<?xml version="1.0" encoding="iso-8859-15"?><price>5 €</price>'),
    ("naïve ☃".encode(), "text/plain", "naïve ☃"),  # nothing declared, valid UTF-8
    ("naïve".encode("cp1252"), "text/plain", "naïve"),  # not UTF-8: windows-1252
    ("naïve".encode("cp1252"), None, "naïve"),  # no Content-Type at all
    (b"\x81\x8d ok \x93q\x94", "text/plain", "\x81\x8d ok “q”"),  # undefined bytes stay
    ("bom first".encode("utf-16"), "text/plain", "bom first"),  # a byte-order mark
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("body", "kind", "expected"), CHARSETS)
async def test_text_uses_the_declared_charset_else_utf8_else_windows_1252(body_server, body,
                                                                          kind, expected):
    outcome = await get(body_server.answer("/t", body, kind))
    assert outcome.ok, outcome.error
    response = outcome.outputs["response"]
    assert response["text"] == expected
    assert "\ufffd" not in response["text"]
    assert response["content"] == body


@pytest.mark.asyncio
@pytest.mark.parametrize(("body", "kind", "expected", "warning"), [
    ("crème".encode("cp1252"), "text/plain; charset=utf-8", "crème",
     "says utf-8, but byte 2 does not decode as utf-8; read as windows-1252"),
    ("crème".encode(), "text/plain; charset=x-klingon", "crème",
     "names the unknown charset 'x-klingon'; read as UTF-8"),
])
async def test_a_charset_that_does_not_fit_is_a_warning_and_never_u_fffd(body_server, body, kind,
                                                                          expected, warning):
    outcome = await get(body_server.answer("/t", body, kind))
    assert outcome.ok, outcome.error
    assert outcome.outputs["response"]["text"] == expected
    warnings = [e.message for e in outcome.logs() if e.level == "warning"]
    assert any(w.endswith(f": the Content-Type header {warning}") for w in warnings), warnings


@pytest.mark.asyncio
async def test_json_is_parsed_from_the_decoded_text(body_server):
    body = json.dumps({"name": "Zoë"}, ensure_ascii=False).encode("utf-16")
    outcome = await get(body_server.answer("/j", body, "application/json; charset=utf-16"))
    assert outcome.outputs["response"]["json"] == {"name": "Zoë"}


# --- content encodings --------------------------------------------------------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize(("coding", "compress"), [("br", brotli.compress),
                                                 ("gzip", gzip.compress)])
async def test_compressed_bodies_are_decoded(body_server, coding, compress):
    text = "squeeze me " * 200
    url = body_server.answer("/c", compress(text.encode()), "text/plain; charset=utf-8",
                             {"Content-Encoding": coding})
    outcome = await get(url)
    assert outcome.ok, outcome.error
    assert outcome.outputs["response"]["text"] == text
    assert outcome.outputs["response"]["content"] == text.encode()


@pytest.mark.asyncio
async def test_a_content_encoding_that_cannot_be_decoded_fails_the_node(body_server):
    url = body_server.answer("/x", lzma.compress(b"hidden"), "text/plain",
                             {"Content-Encoding": "xz"})
    outcome = await get(url)
    assert not outcome.ok
    supported = ", ".join(sorted(supported_encodings()))
    assert outcome.error == (f"GET {url} answered with Content-Encoding 'xz', which cannot be "
                             f"decoded here (supported: {supported})")
    assert {"br", "gzip", "deflate"} <= supported_encodings()


# --- cookies ------------------------------------------------------------------------------------
def two_requests(base: str, first: str, settings: dict | None = None) -> Workflow:
    """`setter` asks for a cookie, then `shower` (after it) shows what cookies it sends."""
    wf = Workflow("cookies", nodes=[
        Node("setter", "net.http", params={"url": base + first}),
        Node("shower", "net.http", params={"url": base + "/cookies/show"}),
        Node("seen", "flow.output", params={"name": "seen"}),
    ], edges=[Edge("setter", "response", "shower", "in"),
              Edge("shower", "response", "seen", "in")],
        extra={"settings": settings} if settings is not None else None)
    return wf


@pytest.mark.asyncio
async def test_each_node_has_its_own_cookie_jar(body_server):
    result, _ = await run_workflow(two_requests(body_server.url, "/cookies/set/flavour/oat"))
    assert result.ok, result.error
    assert result.outputs["seen"]["json"] == {"cookie": ""}


@pytest.mark.asyncio
async def test_a_workflow_can_share_one_cookie_jar(body_server, tmp_path):
    wf = two_requests(body_server.url, "/cookies/set/flavour/oat", {"share_cookies": True})
    save(wf, tmp_path / "shared.loom.json")  # the setting is kept by the file format
    assert '"share_cookies": true' in (tmp_path / "shared.loom.json").read_text()
    result, _ = await run_workflow(wf)
    assert result.outputs["seen"]["json"] == {"cookie": "flavour=oat"}


@pytest.mark.asyncio
async def test_a_cookie_set_by_a_redirect_reaches_its_target(body_server):
    outcome = await get(body_server.url + "/cookies/redirect/session/abc123")
    assert outcome.ok, outcome.error
    assert outcome.outputs["response"]["json"] == {"cookie": "session=abc123"}


@pytest.mark.asyncio
async def test_a_node_keeps_its_cookies_between_its_own_requests(body_server):
    wf = Workflow("loop", nodes=[
        Node("items", "data.value", params={"value": ["/cookies/set/n/1", "/cookies/show"]}),
        Node("each", "flow.foreach", params={}),
        Node("ask", "net.http", params={"url": body_server.url + "{{ in }}"}),
        Node("body", "data.expression", params={"expr": "x['text']"}),
        Node("out", "flow.output", params={"name": "texts"}),
    ], edges=[Edge("items", "out", "each", "items"), Edge("each", "item", "ask", "in"),
              Edge("ask", "response", "body", "x"), Edge("body", "out", "each", "result"),
              Edge("each", "results", "out", "in")])
    result, _ = await run_workflow(wf)
    assert result.ok, result.error
    assert result.outputs["texts"] == ["set", '{"cookie": "n=1"}']


@pytest.mark.asyncio
async def test_a_share_cookies_setting_that_is_not_a_boolean_is_refused_before_the_run(
        body_server):
    # (it was a node failure midway through the run; now validation says so before any request)
    with pytest.raises(CompileError) as caught:
        await run_workflow(two_requests(body_server.url, "/cookies/show",
                                        {"share_cookies": "yes"}))
    assert [p.message for p in caught.value.problems] == [
        'the setting "share_cookies" must be true or false, got \'yes\'']
    assert body_server.requests == []


# --- bytes in `flowloom run --json` -------------------------------------------------------------
def test_run_json_prints_bytes_as_base64_with_their_size(body_server, tmp_path):
    image = png(4, 4)
    url = body_server.answer("/pixel.png", image, "image/png")
    wf = Workflow("png", nodes=[
        Node("fetch", "net.http", params={"url": url}),
        Node("out", "flow.output", params={"name": "response"}),
    ], edges=[Edge("fetch", "response", "out", "in")])
    save(wf, tmp_path / "png.loom.json")
    proc = subprocess.run([sys.executable, "-m", "builder", "run", str(tmp_path / "png.loom.json"),
                           "--json", "--quiet", "--no-history",
                           f"--allow-net=127.0.0.1:{body_server.port}"], cwd=ROOT,
                          capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    content = printed["outputs"]["response"]["content"]
    assert content == {"base64": base64.b64encode(image).decode("ascii"), "bytes": len(image)}
    assert base64.b64decode(content["base64"]) == image
    assert printed["outputs"]["response"]["text"] is None
    node = printed["nodes"]["fetch"]
    assert node["queued_s"] == 0 and len(node["attempt_durations_s"]) == 1


def test_a_big_body_is_previewed_for_the_history_in_bounded_memory():
    import tracemalloc

    from engine.history.preview import PREVIEW_CHARS, preview

    body = bytes(range(256)) * 80_000  # 20 MB
    tracemalloc.start()
    try:
        text, cut = preview({"content": body, "text": None})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cut and len(text) <= PREVIEW_CHARS
    assert text.startswith('{"content": "b\'\\\\x00\\\\x01')
    assert peak < 2_000_000  # the repr of the whole body would be 80 MB
