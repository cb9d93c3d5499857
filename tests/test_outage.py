"""Issue 10, points 6 and 7: a refused API key, an unreachable Alma, an outage mid-run.

None of them may crash, mark rows Failed, or file the staff file away as done: the rows not
run are "Not run", the file waits in processing/ and runs again, one email says why.
"""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from p2e.journal import PAUSED, Journal
from p2e.watch import Folders, watch
from tests.conftest import free_port, mail_settings, make_due, outbox, staff_files
from tests.conftest import results_rows

PROJECT = Path(__file__).resolve().parent.parent


def run_cli(workbook: Path, tmp: Path, key: str, url: str) -> subprocess.CompletedProcess:
    config = tmp / "config.env"
    config.write_text(f"ALMA_API_KEY={key}\nALMA_BASE_URL={url}\nINBOX_DIR={tmp / 'inbox'}\nOUTBOX_DIR={tmp / 'outbox'}\n"
                      f"STATE_DIR={tmp / 'state'}\nALMA_RATE_LIMIT=200\nWORKERS=2\nMAX_RETRIES=1\nHTTP_TIMEOUT=2\n")
    return subprocess.run([sys.executable, str(PROJECT / "processor.py"), "run", str(workbook), "--config", str(config)],
                          capture_output=True, text=True, cwd=PROJECT, timeout=120)


def deletes_applied(sb) -> Counter:
    """DELETEs Alma carried out: answered 204, or applied with the answer lost (not refused by the outage)."""
    return Counter(r["path"] for r in sb.requests
                   if r["method"] == "DELETE" and (r["status"] == 204 or r["error_code"] == "DROPPED"))


# -- point 6: run by hand ----------------------------------------------------------------------

def test_run_with_a_wrong_api_key_says_so_plainly_and_the_file_waits(start_sandbox, workbook_for, tmp_path):
    sb, library = start_sandbox(rows=6, mix="delete-only")
    workbook = workbook_for(library)
    before = sb.state()
    done = run_cli(workbook, tmp_path, "l8xx-not-a-real-key", sb.url)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert "is waiting: Alma refused the API key: " in output
    assert "run the same command again" in output
    assert sb.state() == before
    outbox_files = sorted(p.name for p in (tmp_path / "outbox").iterdir() if p.is_file())
    assert outbox_files == ["UIU P2E clean-up - WAITING.txt"]
    assert "Alma refused the API key" in (tmp_path / "outbox" / "UIU P2E clean-up - WAITING.txt").read_text()
    assert workbook.exists()


def test_run_with_alma_unreachable_says_where_it_tried_and_the_file_waits(start_sandbox, workbook_for, tmp_path):
    sb, library = start_sandbox(rows=4, mix="delete-only")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = run_cli(workbook_for(library), tmp_path, sb.api_key, nowhere)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert f"Alma could not be reached at {nowhere}: " in output
    assert (tmp_path / "outbox" / "UIU P2E clean-up - WAITING.txt").is_file()
    assert not list((tmp_path / "outbox").glob("*.xlsx"))


# -- point 7: an outage mid-run ---------------------------------------------------------------

def test_an_outage_mid_run_leaves_rows_not_run_the_file_waits_and_it_finishes_when_alma_is_back(
        start_sandbox, settings_for, workbook_for, smtp_server):
    sb, library = start_sandbox(rows=150, mix="delete-only")
    settings = mail_settings(settings_for, sb, smtp_server.port, max_retries=1, workers=2)
    workbook_for(library)
    folders = Folders.of(settings)
    # Two windows of rows, each read in one batched call before and read back in one after. Alma goes
    # down (503 for every call) right after the first read-back: one window is done, the other is not.
    original = sb._search_bibs
    batched_reads = []

    def read_then_go_down(**kwargs):
        reply = original(**kwargs)
        ids = set((kwargs["query"].get("mms_id") or "").split(","))
        deleted_on = {r["path"].split("/")[4] for r in sb.requests if r["method"] == "DELETE"}
        if ids <= deleted_on and not batched_reads:  # a read-back (a read before the rows has bibs not deleted)
            batched_reads.append(ids)
            sb.set_options(outage_seconds=float("inf"))
        return reply

    sb._search_bibs = read_then_go_down

    assert watch(settings, once=True, settle_seconds=0.05) == 1
    assert staff_files(folders.processing) == ["UIU P2E clean-up.xlsx"] and staff_files(folders.done) == []
    [partial] = outbox(settings, "PARTIAL results")
    rows = results_rows(partial)
    results = Counter(r["Result"] for r in rows)
    assert set(results) == {"Done", "Not run"} and results["Done"] > 0, results
    for row in rows:
        if row["Result"] == "Not run":
            assert "outage" in row["Details"] and "refused" not in row["Details"].lower(), row
            assert not row["Details"].startswith("Not run"), row
    journal = Journal(Path(settings.state_dir) / "journal.sqlite3")
    [run] = journal.unfinished_runs()
    journal.close()
    assert run.status == PAUSED
    resume_after = datetime.fromisoformat(run.resume_after)
    assert datetime.now(timezone.utc) < resume_after < datetime.now(timezone.utc) + timedelta(minutes=30)
    assert len(smtp_server.messages) == 1
    assert "Alma could not be reached" in smtp_server.messages[0]["Subject"]

    # Alma answers again; once the back-off has passed, the watcher finishes the file.
    sb._search_bibs = original
    sb.set_options(outage_seconds=0)
    make_due(settings)
    assert watch(settings, once=True, settle_seconds=0.05) == 0
    assert staff_files(folders.processing) == [] and len(staff_files(folders.done)) == 1
    final = outbox(settings, "results")
    assert len(final) == 1
    assert {r["Result"] for r in results_rows(final[0])} == {"Done"}
    assert {p: n for p, n in deletes_applied(sb).items() if n > 1} == {}
    assert not set(sb.state()["portfolios"]) & {r["Portfolio ID"] for r in rows}

