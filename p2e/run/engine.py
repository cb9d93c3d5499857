"""The batch engine: rows in parallel, inside Alma's thresholds, resumable after a crash.

* Rows are grouped so that rows touching the same bib, portfolio or PO line run one
  after another (in file order) in one worker; groups run in parallel on a thread pool.
* Every call of every worker passes the client's one rate limiter.
* Work goes in windows of about 100 rows: the window's bibs are read in one batched call
  before its rows run, and its deletes are read back in one batched call after.
* Alma's daily allowance: when ``X-Exl-Api-Remaining`` falls below the reserve, or Alma
  answers ``DAILY_THRESHOLD``, no new row starts; the rest are "Not run" and resume later.
  Calls in flight and the calls rows already running may still make count against the reserve.
* An outage (no answer or 5xx after every retry) or a refused API key stops new rows the same
  way: the rest are "Not run" (never "Failed"), and the file waits to be run again.
* Each final result goes to the journal as soon as it is known, so a resumed run never
  redoes a finished row. The engine then lets go of it, and of the row's Task once its window
  is done: only the rows "Not run" (which the journal does not keep) stay in memory, so that a
  100,000-row run does not hold 100,000 results (the report reads them back from the journal).
* The rate the limiter ended at (with ``ALMA_RATE_LIMIT=auto``, the rate it found) is logged
  and kept in the report, for the results' Summary sheet.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..alma.errors import AlmaAuthError, AlmaError, AlmaUnavailable, DailyThresholdReached
from ..model import Action, Outcome, RowResult, Task
from ..progress import Progress
from . import outcomes as say
from .actions import run_task
from .context import PendingDelete, RowInterrupted, RunContext
from .verify import verify_deletes

# Alma calls a row may still make once it starts (reads, writes, read-backs), counted against
# the daily reserve before it starts, so that rows already running cannot overshoot it.
ROW_CALLS = {Action.DELETE: 4, Action.RELINK: 9, Action.GROUP: 9, Action.KEEP: 0}  # the most a row may need

DAILY, OUTAGE, KEY, STOPPED = "daily", "outage", "key", "stopped"
log = logging.getLogger("p2e.run")


def halt_reason_of(exc: AlmaError) -> str:
    if isinstance(exc, DailyThresholdReached):
        return DAILY
    if isinstance(exc, AlmaAuthError):
        return KEY
    return OUTAGE


@dataclass
class EngineReport:
    # The results the journal does not keep (rows "Not run"), by row number; every other row's is in the journal.
    not_recorded: dict[int, RowResult] = field(default_factory=dict)
    outcomes: Counter[Outcome] = field(default_factory=Counter)  # this attempt's results, by outcome
    halt_reason: str | None = None  # DAILY, OUTAGE or KEY: why no new row started
    halt_error: AlmaError | None = None  # what Alma (or the network) said, for OUTAGE and KEY
    stopped: bool = False
    rate: str = ""  # the Alma call rate at the end, in words ('' when there was no limit)

    @property
    def daily_limit_reached(self) -> bool:
        return self.halt_reason == DAILY


def conflict_groups(tasks: list[Task]) -> list[list[Task]]:
    """Tasks that share a bib, portfolio or PO line, joined into one group (file order kept)."""
    parent = list(range(len(tasks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # One dict per kind of record, keyed by the tasks' own ID strings: no key string is made per row
    # (at 100,000 rows that kept about 60 MB more at the run's peak).
    owners: dict[str, dict[str, int]] = {}
    for index, task in enumerate(tasks):
        for kind, value in task.records():
            owner = owners.setdefault(kind, {})
            first = owner.setdefault(value, index)
            if first != index:
                a, b = find(first), find(index)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    owners.clear()  # before the groups are built: the two would otherwise peak together
    groups: dict[int, list[Task]] = {}
    for index, task in enumerate(tasks):
        groups.setdefault(find(index), []).append(task)
    return [groups[k] for k in sorted(groups)]


def run_tasks(ctx: RunContext, tasks: list[Task], *, workers: int = 4, window: int = 100,
              progress: Progress | None = None, stop: threading.Event | None = None,
              by_hand: bool = False) -> EngineReport:
    """Run the rows; ``by_hand`` (``processor.py run``) words the "Not run" rows for someone at a console.

    The engine takes ``tasks`` over: it empties the list once the rows are grouped, and lets each Task go
    once its window is done (the caller should hold no other list of them).
    """
    report = EngineReport()
    stop = stop or threading.Event()
    halt = threading.Event()  # set on the daily threshold, an outage or a refused key
    lock = threading.Lock()
    reserve = ctx.settings.daily_reserve
    budgets: dict[int, int] = {}  # row number -> calls it may still make (rows started, no final result yet)

    def halt_for(reason: str, error: AlmaError | None = None) -> None:
        with lock:
            if report.halt_reason is None:
                report.halt_reason, report.halt_error = reason, error
            halt.set()

    def release(number: int) -> None:
        with lock:
            budgets.pop(number, None)

    def finish(result: RowResult, final: bool = True) -> None:
        recorded = final and result.outcome is not Outcome.NOT_RUN
        if recorded:
            ctx.journal.record_result(ctx.run_id, result)
        with lock:
            report.outcomes[result.outcome] += 1
            if recorded:
                report.not_recorded.pop(result.row.number, None)
            else:
                report.not_recorded[result.row.number] = result
        release(result.row.number)
        ctx.journal.note_attempt(ctx.run_id, ctx.client.stats.calls)
        if progress:
            progress.row_finished(not_run=result.outcome is Outcome.NOT_RUN)

    def allowance_for(calls: int, number: int | None = None) -> bool:
        """Room for ``calls`` more before the reserve, counting calls in flight and rows already running."""
        with lock:
            if halt.is_set():
                return False
            remaining = ctx.client.stats.remaining
            if remaining is not None:
                committed = ctx.client.stats.in_flight + sum(budgets.values())
                if remaining - committed - calls < reserve:
                    if report.halt_reason is None:
                        report.halt_reason = DAILY
                    halt.set()
                    return False
            if number is not None:
                budgets[number] = calls
            return True

    def not_run_text(started: bool = False) -> str:
        reason = report.halt_reason if halt.is_set() else STOPPED
        if reason == DAILY:
            return say.DAILY_NOT_RUN_BY_HAND if by_hand else say.DAILY_NOT_RUN
        if reason == OUTAGE:
            text = say.OUTAGE_INTERRUPTED if started else say.OUTAGE_NOT_RUN
        elif reason == KEY:
            text = say.KEY_NOT_RUN
        else:
            return say.STOPPED_NOT_RUN
        return text + (say.BY_HAND_AGAIN if by_hand else "")

    def not_run(task: Task, started: RowInterrupted | None = None) -> None:
        """The row's "Not run" result; ``started``: it ran until this stopped it (with the IDs found by then)."""
        mms_id, portfolio_id = (started.mms_id, started.portfolio_id) if started else (task.mms_id, task.portfolio_id)
        finish(RowResult(task.row, Outcome.NOT_RUN, not_run_text(started is not None), mms_id=mms_id,
                         portfolio_id=portfolio_id))

    def run_group(group: list[Task]) -> list[PendingDelete]:
        pending: list[PendingDelete] = []
        for task in group:
            if stop.is_set() or not allowance_for(ROW_CALLS.get(task.action, 4), task.row.number):
                not_run(task)
                continue
            ctx.fence()  # raises LockLost (out of the engine) once another watcher holds the inbox
            try:
                outcome = run_task(ctx, task)
            except RowInterrupted as stopped:  # only what stops every row gets out of run_task
                halt_for(halt_reason_of(stopped.error), stopped.error)
                not_run(task, started=stopped)
                continue
            finally:
                ctx.journal.note_attempt(ctx.run_id, ctx.client.stats.calls)  # a crash later still counts these
            if isinstance(outcome, PendingDelete):
                pending.append(outcome)  # its budget is released once it is read back
            else:
                finish(outcome)
        return pending

    groups = conflict_groups(tasks)
    tasks.clear()  # the windows hold them now, and let each window's go once it is done
    windows: deque[list[list[Task]]] = deque()
    current: list[list[Task]] = []
    size = 0
    for group in groups:
        current.append(group)
        size += len(group)
        if size >= window:
            windows.append(current)
            current, size = [], 0
    if current:
        windows.append(current)
    del groups, current

    def run_window(groups_in_window: list[list[Task]]) -> None:
        window_tasks = [t for g in groups_in_window for t in g]
        wanted = [m for t in window_tasks if t.action is not Action.KEEP for m in (t.mms_id, t.target_mms_id) if m]
        if stop.is_set() or not allowance_for(1 + len(wanted) // 100):
            for task in window_tasks:
                not_run(task)
            return
        try:
            ctx.prefetch(wanted)
        except (DailyThresholdReached, AlmaUnavailable, AlmaAuthError) as exc:
            halt_for(halt_reason_of(exc), exc)
            for task in window_tasks:
                not_run(task)
            return
        pending: list[PendingDelete] = []
        for found in rows_pool.map(run_group, groups_in_window):
            pending.extend(found)
        try:
            for result in verify_deletes(ctx, pending):
                finish(result)
        except (DailyThresholdReached, AlmaUnavailable, AlmaAuthError) as exc:
            halt_for(halt_reason_of(exc), exc)
            why = {DAILY: "the daily API allowance ran out", KEY: "Alma refused the API key"}.get(
                halt_reason_of(exc), "Alma stopped answering (an outage)")
            for item in pending:
                finish(RowResult(item.task.row, Outcome.NOT_RUN, say.delete_not_read_back(item.portfolio_id, why),
                                 mms_id=item.mms_id, portfolio_id=item.portfolio_id, backup=item.backup), final=False)
        ctx.forget(wanted)

    # Two windows in flight: while one waits for its batched read-back, the next one's rows
    # already run, so the rate limiter always has a call ready. Windows never share a record
    # (conflict groups are never split), so they cannot step on each other.
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="row") as rows_pool, \
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="window") as window_pool:
        for future in [window_pool.submit(run_window, windows.popleft()) for _ in range(len(windows))]:
            future.result()
    report.stopped = stop.is_set()
    report.rate = ctx.client.limiter.describe()
    if report.rate:
        log.info("Run %s: Alma call rate %s; %d calls, %d answered 429 'too many calls per second'",
                 ctx.run_id, report.rate, ctx.client.stats.calls, ctx.client.stats.throttled)
    return report
