"""The trust store: content hashes in the user's config folder, private, atomic."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.trust import SAVED, TrustStore, config_dir, content_hash

ROOT = Path(__file__).resolve().parents[2]


def test_trust_is_remembered_and_lost_when_the_file_changes(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "config")
    flow = tmp_path / "flow.loom.json"
    flow.write_text('{"a": 1}\n')
    assert not store.is_trusted(flow)
    digest = store.record(flow)
    assert digest == content_hash(flow.read_bytes())
    assert TrustStore(tmp_path / "config").is_trusted(flow)  # a new reader sees it
    flow.write_text('{"a": 2}\n')  # changed outside Flowloom
    assert not store.is_trusted(flow)
    flow.write_text('{"a": 1}\n')  # the same bytes again: the same file
    assert store.is_trusted(flow)
    assert store.forget(flow) and not store.is_trusted(flow)


def test_the_store_is_private_to_the_user(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "config")
    flow = tmp_path / "f.loom.json"
    flow.write_text("x")
    store.record(flow, SAVED)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.folder).st_mode) == 0o700
    leftovers = [p.name for p in store.folder.iterdir() if p.name != "trust.json"]
    assert leftovers == []


def test_an_unreadable_store_trusts_nothing(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    flow = tmp_path / "f.loom.json"
    flow.write_text("x")
    store.path.write_text("{not json")
    assert not store.is_trusted(flow)
    store.record(flow)  # and recording repairs it
    assert store.is_trusted(flow)


def test_shipped_templates_and_examples_are_trusted_a_copy_is_not(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "config")
    shipped = sorted((ROOT / "resources").glob("*/*.loom.json"))
    assert len(shipped) > 5
    assert all(store.is_trusted(p) for p in shipped)
    copy = tmp_path / "hello.loom.json"
    copy.write_bytes((ROOT / "resources/examples/hello.loom.json").read_bytes())
    assert not store.is_trusted(copy)


def test_the_config_folder_follows_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLOWLOOM_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert config_dir() == tmp_path / "elsewhere"
    assert TrustStore().path == tmp_path / "elsewhere" / "trust.json"
