"""The batch engine (issue 6): faults, crashes, Alma's daily allowance, ordering."""
from __future__ import annotations

import gc
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from p2e.intake import read_workbook
from p2e.journal import Journal
from p2e.model import Action, Outcome, Row, RowResult, Task
from p2e.pipeline import process_file
from p2e.run.engine import conflict_groups
from p2e.run.outcomes import DAILY_NOT_RUN_BY_HAND

from tests.conftest import results_rows

PROJECT = Path(__file__).resolve().parents[2]


def applied_deletes(requests: list[dict]) -> Counter:
    """DELETEs Alma carried out, per path: answered 204, or applied with the answer lost (status 0)."""
    return Counter(r["path"] for r in requests if r["method"] == "DELETE" and r["status"] in (204, 0))


def test_with_500s_dropped_connections_slow_answers_and_429_bursts_every_row_ends_and_none_is_written_twice(
        start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=60, mix="delete-only", error_rate=0.10, drop_rate=0.05, slow_rate=0.03,
                                slow_ms=1500, latency_ms=5, jitter_ms=5, rate_limit=40, random_seed=11)
    # The client may send 80 calls a second; the server allows 40: it answers 429 bursts.
    settings = settings_for(sb, rate_limit=80, workers=6, http_timeout=1.0, max_retries=8)
    outcome = process_file(workbook_for(library), settings, stream=None)
    rows = results_rows(outcome.results_path)
    assert len(rows) == 60
    for row in rows:
        assert row["Result"] in ("Done", "Failed"), row
        assert row["Details"]
        if row["Result"] == "Failed":
            assert row["Alma error"] or "not proven" in row["Details"]
    codes = Counter(r["error_code"] for r in sb.requests)
    assert codes["PER_SECOND_THRESHOLD"] > 0 and codes["INTERNAL_SERVER_ERROR"] > 0 and codes["DROPPED"] > 0
    twice = {path: n for path, n in applied_deletes(sb.requests).items() if n > 1}
    assert twice == {}
    state = sb.state()
    for row in rows:
        if row["Result"] == "Done":
            assert row["Portfolio ID"] not in state["portfolios"]
    assert sum(r["Result"] == "Done" for r in rows) >= 55


def _run_processor(workbook: Path, config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(PROJECT / "processor.py"), "run", str(workbook), "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=PROJECT)


def _config(tmp: Path, sb) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "config.env"
    config.write_text(f"ALMA_API_KEY={sb.api_key}\nALMA_BASE_URL={sb.url}\nINBOX_DIR={tmp / 'inbox'}\n"
                      f"OUTBOX_DIR={tmp / 'outbox'}\nSTATE_DIR={tmp / 'state'}\nALMA_RATE_LIMIT=200\nWORKERS=4\n")
    return config


def _comparable(rows: list[dict]) -> list[tuple]:
    return [(r["Result"], r["Details"], r["MMS ID"], r["Portfolio ID"], r["Bib"]) for r in rows]


def test_a_run_killed_mid_way_and_restarted_ends_as_an_uninterrupted_run(start_sandbox, workbook_for, tmp_path):
    # The same library twice: one run is killed with SIGKILL half-way and restarted, the other runs straight.
    crashed, library = start_sandbox(rows=120, latency_ms=15, random_seed=5)
    straight, _ = start_sandbox(rows=120, latency_ms=15, random_seed=5)
    workbook = workbook_for(library)

    config = _config(tmp_path / "crashed", crashed)
    first = _run_processor(workbook, config)
    deadline = time.monotonic() + 60
    while sum(1 for r in crashed.requests if r["method"] == "DELETE") < 25 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    deletes_before = sum(1 for r in crashed.requests if r["method"] == "DELETE")
    assert 25 <= deletes_before < 100, "the kill should land mid-way"
    assert not list((tmp_path / "crashed" / "outbox").glob("*- results *.xlsx"))

    second = _run_processor(workbook, config)
    output = second.communicate(timeout=120)[0].decode()
    assert second.returncode == 0, output

    reference = _run_processor(workbook, _config(tmp_path / "straight", straight))
    assert reference.wait(timeout=120) == 0

    crashed_rows = results_rows(next((tmp_path / "crashed" / "outbox").glob("*- results *.xlsx")))
    straight_rows = results_rows(next((tmp_path / "straight" / "outbox").glob("*- results *.xlsx")))
    assert _comparable(crashed_rows) == _comparable(straight_rows)
    # The Summary counts the killed attempt too (its calls were noted in the journal as rows finished).
    facts = summary_facts(next((tmp_path / "crashed" / "outbox").glob("*- results *.xlsx")))
    assert facts["Interrupted"].startswith("Interrupted and resumed 1 time;")
    total, last = (int(x.replace(",", "")) for x in re.match(r"([\d,]+) in all \(([\d,]+) this last time\)",
                                                           facts["Alma API calls"]).groups())
    assert total - last >= deletes_before
    a, b = crashed.state(), straight.state()
    assert sorted(a["bibs"]) == sorted(b["bibs"])
    assert sorted(a["portfolios"]) == sorted(b["portfolios"])
    assert {k: v["resource_metadata"]["mms_id"]["value"] for k, v in a["po_lines"].items()} == \
           {k: v["resource_metadata"]["mms_id"]["value"] for k, v in b["po_lines"].items()}
    assert {p: n for p, n in applied_deletes(crashed.requests).items() if n > 1} == {}
    assert not [r for r in crashed.requests if r["method"] == "PUT" and r["status"] == 400]


def test_the_daily_allowance_running_out_leaves_the_rest_not_run_and_they_resume(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=150, mix="delete-only", daily_limit=5000)
    settings = settings_for(sb, daily_reserve=5000 - 120)  # room for about 120 calls before the reserve
    workbook = workbook_for(library)
    first = process_file(workbook, settings, stream=None)
    assert first.status == "paused" and first.exit_code == 1 and first.resume_after is not None
    assert first.results_path.name.startswith("UIU P2E clean-up - PARTIAL results ")
    rows = results_rows(first.results_path)
    not_run = [r for r in rows if r["Result"] == "Not run"]
    done = [r for r in rows if r["Result"] == "Done"]
    assert not_run and done and len(not_run) + len(done) == 150
    assert all(r["Details"] == DAILY_NOT_RUN_BY_HAND for r in not_run)  # run by hand: says what to do
    state = sb.state()
    assert all(r["Portfolio ID"] in state["portfolios"] for r in not_run)

    # After midnight UTC the allowance is back (the sandbox resets it); the same file resumes.
    sb.set_options(daily_limit=1_000_000)
    settings.daily_reserve = 5000
    calls_before = len(sb.requests)
    second = process_file(workbook, settings, stream=None)
    assert second.status == "processed" and second.exit_code == 0
    rows = results_rows(second.results_path)
    assert {r["Result"] for r in rows} == {"Done"}
    resumed_deletes = [r for r in sb.requests[calls_before:] if r["method"] == "DELETE"]
    assert len(resumed_deletes) == len(not_run)  # finished rows were not done again


def test_the_daily_threshold_answer_itself_stops_new_rows(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=80, mix="delete-only")
    original = sb._delete_portfolio

    def delete_then_allowance_gone(**kwargs):  # another system uses up the day's allowance mid-run
        reply = original(**kwargs)
        if sum(r["method"] == "DELETE" for r in sb.requests) >= 20:
            sb.set_options(daily_limit=0)
        return reply

    sb._delete_portfolio = delete_then_allowance_gone
    outcome = process_file(workbook_for(library), settings_for(sb, daily_reserve=0), stream=None)
    rows = results_rows(outcome.results_path)
    assert outcome.status == "paused"
    assert {r["Result"] for r in rows} <= {"Done", "Not run"}
    assert any(r["error_code"] == "DAILY_THRESHOLD" for r in sb.requests)
    state = sb.state()
    for r in rows:
        if r["Result"] == "Not run" and "read back" not in r["Details"]:
            assert r["Portfolio ID"] in state["portfolios"]


def test_rows_that_touch_the_same_records_run_one_after_another_in_file_order():
    def task(n, mms, pid, target=None, pol=None):
        return Task(Row(n, []), Action.DELETE, mms_id=mms, portfolio_id=pid, target_mms_id=target, po_line=pol)

    tasks = [task(2, "991", "531"), task(3, "992", "532", target="999"), task(4, "993", "533"),
             task(5, "994", "534", target="999"), task(6, "991", "535"), task(7, "995", "536", pol="POL-1"),
             task(8, "996", "537", pol="POL-1")]
    groups = [[t.row.number for t in g] for g in conflict_groups(tasks)]
    assert groups == [[2, 6], [3, 5], [4], [7, 8]]


def test_progress_shows_on_the_console_and_as_a_status_file_that_goes_when_results_arrive(
        start_sandbox, settings_for, workbook_for):
    import io
    import threading

    sb, library = start_sandbox(rows=40, mix="delete-only", latency_ms=20)
    settings = settings_for(sb, workers=2)
    console = io.StringIO()
    status = settings.outbox_dir / "UIU P2E clean-up - IN PROGRESS.txt"
    seen = []
    runner = threading.Thread(target=lambda: seen.append(process_file(workbook_for(library), settings, stream=console)))
    runner.start()
    deadline = time.monotonic() + 30
    while not status.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    text = status.read_text()
    runner.join(60)
    assert "This file is being processed" in text and "of 40 rows done" in text
    assert not status.exists()
    assert seen[0].results_path.exists()
    lines = console.getvalue().splitlines()
    assert lines[0].startswith("Processing UIU P2E clean-up.xlsx: 0 of 40 rows done (0%)")
    assert lines[-1].startswith("Processing UIU P2E clean-up.xlsx: 40 of 40 rows done (100%)")
    assert "Alma calls per second" in lines[-1]


def test_calls_in_flight_and_rows_running_count_against_the_daily_reserve(start_sandbox, settings_for, workbook_for):
    # Room for 150 calls before the reserve; 8 rows at a time, with answers slow enough that many are in flight.
    sb, library = start_sandbox(rows=200, mix="delete-only", daily_limit=10_000, latency_ms=20)
    reserve = 10_000 - 150
    settings = settings_for(sb, daily_reserve=reserve, workers=8)
    outcome = process_file(workbook_for(library), settings, stream=None)
    assert outcome.status == "paused"
    assert sb.daily_remaining >= reserve, f"the reserve was overshot by {reserve - sb.daily_remaining} calls"
    rows = results_rows(outcome.results_path)
    assert {r["Result"] for r in rows} == {"Done", "Not run"}


def test_a_paused_run_by_hand_says_what_to_do_and_never_repeats_not_run(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=40, mix="delete-only", daily_limit=5000)
    settings = settings_for(sb, daily_reserve=5000 - 30)
    outcome = process_file(workbook_for(library), settings, stream=None)
    assert outcome.status == "paused"
    summary = outcome.summary()
    assert "Not run: Not run" not in summary
    assert "run the same command again after" in summary and "runs automatically" not in summary
    rows = results_rows(outcome.results_path)
    for row in rows:
        assert not row["Details"].startswith(row["Result"]), row
    not_run = [r for r in rows if r["Result"] == "Not run"]
    assert not_run and all("run the same command again after midnight UTC" in r["Details"] for r in not_run)


def summary_facts(path: Path) -> dict:
    import openpyxl

    ws = openpyxl.load_workbook(path, read_only=True)["Summary"]
    facts = {}
    for row in ws.iter_rows(min_row=3, max_row=20, max_col=2, values_only=True):
        if row[0] and row[1] is not None:
            facts[row[0]] = row[1]
    return facts


def test_after_a_resume_the_summary_counts_every_attempt_and_says_it_was_resumed(start_sandbox, settings_for,
                                                                                   workbook_for):
    import threading

    sb, library = start_sandbox(rows=60, mix="delete-only")
    settings = settings_for(sb, workers=2)
    stop = threading.Event()
    original = sb._delete_portfolio

    def delete_then_stop(**kwargs):  # the processor is stopped after 20 deletes
        reply = original(**kwargs)
        if sum(r["method"] == "DELETE" for r in sb.requests) >= 20:
            stop.set()
        return reply

    sb._delete_portfolio = delete_then_stop
    workbook = workbook_for(library)
    first = process_file(workbook, settings, stream=None, stop=stop)
    assert first.status == "stopped"
    assert "Interrupted" not in summary_facts(first.results_path)
    first_calls = len(sb.requests)

    sb._delete_portfolio = original
    second = process_file(workbook, settings, stream=None)
    assert second.status == "processed"
    facts = summary_facts(second.results_path)
    assert facts["Interrupted"].startswith("Interrupted and resumed 1 time;")
    assert facts["Alma API calls"] == f"{len(sb.requests):,} in all ({len(sb.requests) - first_calls:,} this last time)"
    assert "in all" in facts["Time taken"]


def test_progress_counts_rows_not_run_apart_from_rows_done(start_sandbox, settings_for, workbook_for):
    import io

    sb, library = start_sandbox(rows=6, mix="delete-only")
    console = io.StringIO()
    outcome = process_file(workbook_for(library), settings_for(sb, alma_api_key="not-a-key"), stream=console)
    assert outcome.status == "waiting"
    last = console.getvalue().splitlines()[-1]
    assert last.startswith("Processing UIU P2E clean-up.xlsx: 0 of 6 rows done (0%), 6 not run"), last
    assert "calls per second" not in last  # one refused call in a moment is no rate


def test_the_run_lets_go_of_each_rows_result_and_task_once_the_journal_has_it(start_sandbox, settings_for, workbook_for,
                                                                              monkeypatch):
    # Issue 11: a 100,000-row run must not hold 100,000 results and tasks; the report reads them from the journal.
    sb, library = start_sandbox(rows=400, mix="delete-only")
    alive_at_the_end: list[tuple[int, int]] = []
    recorded = 0
    real_record = Journal.record_result

    def record_and_count(journal, run_id, result):
        nonlocal recorded
        real_record(journal, run_id, result)
        recorded += 1
        if recorded == len(library.rows):  # the last row's result: what is still held?
            objects = gc.get_objects()
            alive_at_the_end.append((sum(isinstance(o, RowResult) for o in objects),
                                     sum(isinstance(o, Task) for o in objects)))

    monkeypatch.setattr(Journal, "record_result", record_and_count)
    workbook = workbook_for(library)
    outcome = process_file(workbook, settings_for(sb), stream=None)

    assert outcome.counts == Counter({Outcome.DONE: 400}) and len(outcome.results) == 400
    results, tasks = alive_at_the_end[0]
    assert results <= 200 and tasks <= 200  # at most the two windows of 100 rows in flight, not all 400
    assert [r.row.number for r in outcome.results] == [row.number for row in read_workbook(workbook).rows]
