"""Template suggestions: BM25 through SQLite FTS5 over the shipped templates."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from builder.templates import find_templates, suggest
from engine.suggest import Document, goal_words, rank

SEED_GOALS = [
    ("a debate", "debate"),
    ("an approval loop", "summarise_approval"),
    ("an API fan-out", "api_fanout"),
    ("agents argue until a judge says they agree", "debate"),
    ("call several HTTP endpoints in parallel and merge the responses", "api_fanout"),
    ("summarise a file and have a person approve it before writing", "summarise_approval"),
]


@pytest.mark.parametrize(("goal", "expected"), SEED_GOALS)
def test_the_matching_template_comes_first_for_each_seed_goal(goal, expected):
    ranked = suggest(goal, find_templates())
    assert ranked, goal
    assert ranked[0][0].slug == expected
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)


def test_a_goal_sharing_no_word_suggests_nothing():
    assert suggest("zebra quantum xylophone", find_templates()) == []
    assert suggest("   ", find_templates()) == []


def test_fts5_query_syntax_in_the_goal_is_taken_literally():
    docs = [Document("a", "Alpha NEAR beta"), Document("b", "gamma")]
    assert [s.key for s in rank('alpha" OR (* NEAR', docs)] == ["a"]


def test_title_weighs_more_than_node_titles():
    docs = [Document("in_title", "Weather report"),
            Document("in_nodes", "Something else", node_titles=("Weather",))]
    assert [s.key for s in rank("weather", docs)] == ["in_title", "in_nodes"]


def test_node_titles_and_stemming_count():
    docs = [Document("x", "Plain", node_titles=("Approve summary",)), Document("y", "Other")]
    assert [s.key for s in rank("approval", docs)] == ["x"]
    assert goal_words("An API fan-out") == ["api", "fan", "out"]


def test_cli_suggest_json_ranks_and_plain_lists_all():
    out = subprocess.run([sys.executable, "-m", "builder", "templates", "--suggest",
                          "a debate", "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data[0]["slug"] == "debate" and data[0]["score"] > 0
    listed = subprocess.run([sys.executable, "-m", "builder", "templates", "--json"],
                            capture_output=True, text=True, timeout=60)
    assert {t["slug"] for t in json.loads(listed.stdout)} == {t.slug for t in find_templates()}
    assert all("score" not in t for t in json.loads(listed.stdout))
