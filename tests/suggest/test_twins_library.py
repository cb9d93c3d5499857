"""The sandbox's labelled library (generate_twins_library: true twins and every decoy kind) through both routes."""
from __future__ import annotations

from dataclasses import replace

import pytest

from p2e.intake import read_workbook
from p2e.sandbox import Sandbox, write_workbook
from p2e.sandbox.twins import TWIN_MIX, generate_twins_library, score
from p2e.suggest.file import suggest_workbook

# What the collection route cannot see: a print record is in no collection, so the P2E title looks alone.
COLLECTION_ROUTE = {"print_record": "keep"}


@pytest.fixture(scope="module")
def library():
    return generate_twins_library(60, random_seed=5)


@pytest.mark.parametrize("route", ["collection", "sru"])
def test_every_kind_gets_its_labelled_suggestion(route, library, settings_for, tmp_path):
    with Sandbox.start(seed=library.seed) as sb:
        settings = replace(settings_for(sb), mms_id_suffix=library.suffix,
                           institution_code=sb.institution_code if route == "sru" else None,
                           sru_base_url=sb.sru_url if route == "sru" else None)
        path = write_workbook(library, tmp_path / "raw.xlsx", raw=True)
        sheet = read_workbook(path)
        names = [c["name"] for c in library.seed["e_collections"] if not c.get("is_local")] if route == "collection" else []
        done = suggest_workbook(path, sheet, settings, collections=names)
        assert [r for r in sb.requests if r["method"] != "GET"] == []
    labels = library.seed["labels"]
    got = {}
    for row, label in zip(sheet.rows, labels):
        s = done.run.suggestions[row.number]
        got[label["portfolio_id"]] = (s.action or "", s.target_mms_id or "")
        want = COLLECTION_ROUTE.get(label["kind"], label["expected_action"]) if route == "collection" else label["expected_action"]
        assert (s.action or "none") == want, (label["kind"], s.why)
        if s.action in ("delete", "relink"):
            assert (s.target_mms_id, s.target_portfolio_id) == (label["target_mms_id"], label["target_portfolio_id"])
            assert (s.po_line or "") == label["po_line"]
        if label["match"] == "weak":
            assert s.match == "weak" or (route == "collection" and label["kind"] in COLLECTION_ROUTE), label["kind"]
    figures = score(labels, got)
    assert figures["decoys_deleted"] == []
    assert figures["delete"]["precision"] == 1.0 and figures["delete"]["recall"] == 1.0
    assert figures["relink"]["precision"] == 1.0 and figures["relink"]["recall"] == 1.0
    assert {label["kind"] for label in labels} == set(TWIN_MIX)


def test_a_workbook_whose_action_cells_are_all_empty_is_a_suggestion_request(library, settings_for, tmp_path):
    from p2e.pipeline import process_file

    with Sandbox.start(seed=library.seed) as sb:
        settings = replace(settings_for(sb), mms_id_suffix=library.suffix, institution_code=sb.institution_code,
                           sru_base_url=sb.sru_url)
        path = write_workbook(library, settings.inbox_dir / "UIU P2E.xlsx", raw=True)  # an Action column, all empty
        assert "action" in read_workbook(path).columns
        outcome = process_file(path, settings, stream=None)
        assert [r for r in sb.requests if r["method"] != "GET"] == []
    assert outcome.status == "processed" and outcome.results_path.name.startswith("UIU P2E - SUGGESTED ")
    assert "Nothing was changed in Alma" in outcome.summary()
