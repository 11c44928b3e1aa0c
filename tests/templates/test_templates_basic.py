"""Every template is listed, carries its metadata, validates, and the offline ones run."""

from __future__ import annotations

import json

import pytest

from builder.templates import DIFFICULTIES, TEMPLATES_DIR, find_templates, read_template
from engine.fileformat import dumps, load
from nodes import default_registry
from tests.templates.support import run, template

REQUIRED = {"hello", "api_fanout", "batch_errors", "summarise_approval", "debate",
            "business_plan", "data_pipeline", "website_watch"}
SLUGS = sorted(p.name.removesuffix(".loom.json") for p in TEMPLATES_DIR.glob("*.loom.json"))


def test_the_eight_templates_of_the_issue_are_there_and_hello_comes_first():
    templates = find_templates()
    assert REQUIRED <= {t.slug for t in templates}
    assert templates[0].slug == "hello"


@pytest.mark.parametrize("slug", SLUGS)
def test_template_validates_without_any_problem(slug):
    loaded = load(TEMPLATES_DIR / f"{slug}.loom.json", default_registry())
    assert [str(p) for p in loaded.problems] == []


@pytest.mark.parametrize("slug", SLUGS)
def test_template_file_is_canonical_so_saving_it_changes_nothing(slug):
    path = TEMPLATES_DIR / f"{slug}.loom.json"
    assert dumps(load(path).workflow) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("slug", SLUGS)
def test_template_metadata_is_complete_and_every_node_has_a_title(slug):
    t = read_template(TEMPLATES_DIR / f"{slug}.loom.json")
    meta = template(slug).extra["template"]
    assert set(meta) >= {"title", "description", "tags", "difficulty", "preview", "needs"}
    assert t.title and t.description and t.tags
    assert t.difficulty in DIFFICULTIES
    assert set(t.needs) <= {"llm", "network"}
    assert t.preview is not None and t.preview.name == f"{slug}.png", "preview image missing"
    workflow = template(slug)
    assert all(node.title for node in workflow.nodes.values())
    uses_llm = any(n.type in LLM_TYPES for n in workflow.nodes.values())
    assert uses_llm == ("llm" in t.needs)
    for node in workflow.nodes.values():
        if node.type in LLM_TYPES:
            assert not node.params.get("base_url"), "LLM templates leave base_url to the env"


LLM_TYPES = ("ai.chat", "ai.agent")


@pytest.mark.parametrize("slug", SLUGS)
def test_frames_name_only_nodes_of_the_template(slug):
    workflow = template(slug)
    for frame in workflow.frames.values():
        assert frame.title and frame.color and frame.extra == {}
        assert set(frame.nodes) <= set(workflow.nodes)


def test_template_index_searches_and_filters():
    templates = find_templates()
    assert {t.slug for t in templates if t.matches("debate")} == {"debate"}
    assert {t.slug for t in templates if t.matches(tag="llm")} == {
        "summarise_approval", "debate", "business_plan"}
    assert all(t.difficulty == "advanced" for t in templates if t.matches(difficulty="advanced"))
    assert not [t for t in templates if t.matches("no such words anywhere")]
    llm = next(t for t in templates if t.slug == "debate")
    assert "OPENAI_BASE_URL" in llm.needs_text()[0]


def test_hello_takes_the_branch_its_condition_picks():
    assert run(template("hello")).outputs == {"greeting": "HELLO, WORLD!"}
    calm = run(template("hello"), {"name": "Ada", "excited": False})
    assert calm.outputs == {"greeting": "Hello, Ada."}
    assert calm.result.nodes["shout"].status == "skipped"


def test_data_pipeline_filters_maps_aggregates_switches_and_writes_json(tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text("order,region,amount,status\n1,North,300,paid\n2,South, 50,paid\n"
                   "3,North,900,refunded\n4,South,25.5,paid\n", encoding="utf-8")
    out = run(template("data_pipeline"), {"csv": "orders.csv", "report": "out/report.json",
                                          "target": 1000}, base_dir=tmp_path)
    assert out.result.ok, out.result.error
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report == out.outputs["report"]
    assert report["by_region"] == {"North": 300.0, "South": 75.5}
    assert report["verdict"] == "below target" and report["missing"] == 624.5


def test_data_pipeline_on_the_shipped_sample_meets_its_target(tmp_path):
    (tmp_path / "sales.csv").write_bytes((TEMPLATES_DIR / "sales.csv").read_bytes())
    out = run(template("data_pipeline"), base_dir=tmp_path)
    assert out.outputs["report"]["verdict"] == "target met"
    empty = tmp_path / "none.csv"
    empty.write_text("order,region,amount,status\n1,North,5,pending\n", encoding="utf-8")
    out = run(template("data_pipeline"), {"csv": "none.csv"}, base_dir=tmp_path)
    assert out.outputs["report"]["verdict"] == "no sales"
