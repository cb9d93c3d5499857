"""Resuming after an outage: a write whose answer was lost is settled by reading Alma, never sent twice."""
from __future__ import annotations

from p2e.pipeline import process_file
from p2e.sandbox.server import _Dropped

from tests.conftest import results_rows
from tests.run.conftest import deletes_applied


def test_a_delete_whose_answer_was_lost_in_an_outage_is_read_back_on_resume_not_called_refused(
        start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=3, mix="delete-only")
    settings = settings_for(sb, max_retries=1, workers=1)
    original = sb._delete_portfolio
    lost = []

    def delete_then_go_down(**kwargs):
        reply = original(**kwargs)  # the delete happens in Alma ...
        if not lost:
            lost.append(kwargs["params"]["portfolio_id"])
            sb.set_options(outage_seconds=float("inf"), outage_mode="refuse")
            raise _Dropped()  # ... but the answer is lost, and Alma stops answering
        return reply

    sb._delete_portfolio = delete_then_go_down
    workbook = workbook_for(library)
    first = process_file(workbook, settings, stream=None)
    assert first.status == "waiting"
    rows = {r["Portfolio ID"]: r for r in results_rows(first.results_path)} if first.results_path else {}
    assert lost and lost[0] not in sb.state()["portfolios"]
    if rows:
        assert rows[lost[0]]["Result"] == "Not run", rows[lost[0]]
    assert "refused" not in (rows.get(lost[0], {}).get("Details") or "").lower()

    sb.set_options(outage_seconds=0)
    second = process_file(workbook, settings, stream=None)
    assert second.status == "processed"
    final = {r["Portfolio ID"]: r for r in results_rows(second.results_path)}
    assert final[lost[0]]["Result"] == "Done", final[lost[0]]
    assert {r["Result"] for r in final.values()} == {"Done"}
    assert {p: n for p, n in deletes_applied(sb).items() if n > 1} == {}
