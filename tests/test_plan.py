"""plan: one fully resolved task per row, no network."""
from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import pytest

from p2e.config import load_settings
from p2e.model import Action, BibHandling, FileStatus, Row, Sheet, Task
from p2e.pipeline import FileOutcome
from p2e.plan import plan


def sheet_of(*rows: Row) -> Sheet:
    return Sheet(Path("p2e.xlsx"), "P2E", 1, [], {}, rows=list(rows))


def test_a_voyager_bib_id_becomes_an_mms_id_by_rule_or_a_lookup_key_and_the_task_is_frozen(tmp_path):
    settings = load_settings(None, environ={}, base_dir=tmp_path)
    row = Row(2, [], action=Action.DELETE, voyager_bib_id="5539966")
    [by_rule] = plan(sheet_of(row), replace(settings, mms_id_suffix="12205899"))
    assert (by_rule.mms_id, by_rule.mms_id_source, by_rule.other_system_id) == ("99553996612205899", "rule", None)
    [by_lookup] = plan(sheet_of(row), replace(settings, other_system_id_pattern="(UIUdb){bib_id}"))
    assert (by_lookup.mms_id, by_lookup.mms_id_source) == (None, "other_system_id")
    assert by_lookup.other_system_id == "(UIUdb)5539966" and ("osid", "(UIUdb)5539966") in by_lookup.records()
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_rule.mms_id = "991"  # type: ignore[misc]


def test_rows_without_an_action_are_not_planned_and_bib_handling_falls_back_to_the_setting(tmp_path):
    settings = replace(load_settings(None, environ={}, base_dir=tmp_path), bib_handling=BibHandling.SUPPRESS)
    tasks = plan(sheet_of(Row(2, [], action=None), Row(3, [], action=Action.KEEP, mms_id="991"),
                          Row(4, [], action=Action.DELETE, mms_id="992", bib_handling=BibHandling.RETAIN)), settings)
    assert [(t.row.number, t.bib_handling) for t in tasks] == [(3, BibHandling.SUPPRESS), (4, BibHandling.RETAIN)]
    assert all(isinstance(t, Task) for t in tasks)


def test_a_file_status_is_the_plain_word_it_replaced():
    outcome = FileOutcome(Path("p2e.xlsx"), "waiting")  # type: ignore[arg-type]
    assert outcome.status is FileStatus.WAITING and outcome.status == "waiting" and f"{outcome.status}" == "waiting"
    assert FileStatus.LOCK_LOST == "lock-lost"
