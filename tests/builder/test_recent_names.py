"""Recent files that share a name are told apart by the folders they are in."""

from __future__ import annotations

from builder.recent_names import short_names


def test_a_unique_name_is_shown_alone():
    assert short_names(["/home/a/flow.loom.json", "/home/a/other.loom.json"]) == {
        "/home/a/flow.loom.json": "flow.loom.json",
        "/home/a/other.loom.json": "other.loom.json"}


def test_same_names_show_their_folders_until_they_differ():
    paths = ["/home/a/work/flow.loom.json", "/home/b/work/flow.loom.json",
             "/home/c/flow.loom.json", "/home/a/notes.loom.json"]
    labels = short_names(paths)
    assert labels["/home/a/work/flow.loom.json"] == "flow.loom.json — a/work"
    assert labels["/home/b/work/flow.loom.json"] == "flow.loom.json — b/work"
    assert labels["/home/c/flow.loom.json"] == "flow.loom.json — c"
    assert labels["/home/a/notes.loom.json"] == "notes.loom.json"
    assert len(set(labels.values())) == len(paths)


def test_a_file_at_the_root_and_one_deeper_stay_distinct():
    labels = short_names(["/flow.loom.json", "/x/flow.loom.json"])
    assert labels["/x/flow.loom.json"] == "flow.loom.json — x"
    assert labels["/flow.loom.json"] != labels["/x/flow.loom.json"]
