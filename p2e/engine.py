"""The batch engine: rows in parallel, inside Alma's thresholds, resumable after a crash.

* Rows are grouped so that rows touching the same bib, portfolio or PO line run one
  after another (in file order) in one worker; groups run in parallel on a thread pool.
* Every call of every worker passes the client's one rate limiter.
* Work goes in windows of about 100 rows: the window's bibs are read in one batched call
  before its rows run, and its deletes are read back in one batched call after.
* Alma's daily allowance: when ``X-Exl-Api-Remaining`` falls below the reserve, or Alma
  answers ``DAILY_THRESHOLD``, no new row starts; the rest are "Not run" and resume later.
* Each final result goes to the journal as soon as it is known, so a resumed run never
  redoes a finished row.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .actions import PendingDelete, RunContext, Task, run_task, verify_deletes
from .alma.errors import DailyThresholdReached
from .model import Outcome, RowResult
from .progress import Progress

DAILY_NOT_RUN = ("Not run: Alma's daily API allowance is used up; the rest of this file runs automatically "
                 "after midnight UTC.")
STOPPED_NOT_RUN = "Not run: the processor was stopped before this row; it runs when the processor starts again."


@dataclass
class EngineReport:
    results: dict[int, RowResult] = field(default_factory=dict)
    daily_limit_reached: bool = False
    stopped: bool = False


def conflict_groups(tasks: list[Task]) -> list[list[Task]]:
    """Tasks that share a bib, portfolio or PO line, joined into one group (file order kept)."""
    parent = list(range(len(tasks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, task in enumerate(tasks):
        for key in task.keys():
            if key in owner:
                a, b = find(owner[key]), find(index)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[key] = index
    groups: dict[int, list[Task]] = {}
    for index, task in enumerate(tasks):
        groups.setdefault(find(index), []).append(task)
    return [groups[k] for k in sorted(groups)]


def run_tasks(ctx: RunContext, tasks: list[Task], *, workers: int = 4, window: int = 100,
              progress: Progress | None = None, stop: threading.Event | None = None) -> EngineReport:
    report = EngineReport()
    stop = stop or threading.Event()
    halt = threading.Event()  # set on the daily threshold
    lock = threading.Lock()
    reserve = ctx.settings.daily_reserve

    def finish(result: RowResult, final: bool = True) -> None:
        with lock:
            report.results[result.row.number] = result
        if final and result.outcome is not Outcome.NOT_RUN:
            ctx.journal.record_result(ctx.run_id, result)
        if progress:
            progress.row_finished()

    def allowance_left() -> bool:
        remaining = ctx.client.stats.remaining
        if remaining is not None and remaining < reserve:
            halt.set()
        return not halt.is_set()

    def not_run(task: Task) -> None:
        text = DAILY_NOT_RUN if halt.is_set() else STOPPED_NOT_RUN
        finish(RowResult(task.row, Outcome.NOT_RUN, text, mms_id=task.mms_id, portfolio_id=task.portfolio_id))

    def run_group(group: list[Task]) -> list[PendingDelete]:
        pending = []
        for task in group:
            if stop.is_set() or not allowance_left():
                not_run(task)
                continue
            ctx.fence()  # raises LockLost (out of the engine) once another watcher holds the inbox
            try:
                outcome = run_task(ctx, task)
            except DailyThresholdReached:
                halt.set()
                not_run(task)
                continue
            if isinstance(outcome, PendingDelete):
                pending.append(outcome)
            else:
                finish(outcome)
        return pending

    groups = conflict_groups(tasks)
    windows: list[list[list[Task]]] = []
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

    def run_window(groups_in_window: list[list[Task]]) -> None:
        window_tasks = [t for g in groups_in_window for t in g]
        if stop.is_set() or not allowance_left():
            for task in window_tasks:
                not_run(task)
            return
        wanted = [m for t in window_tasks if t.action.value != "keep" for m in (t.mms_id, t.target_mms_id) if m]
        try:
            ctx.prefetch(wanted)
        except DailyThresholdReached:
            halt.set()
            for task in window_tasks:
                not_run(task)
            return
        pending: list[PendingDelete] = []
        for found in rows_pool.map(run_group, groups_in_window):
            pending.extend(found)
        try:
            for result in verify_deletes(ctx, pending):
                finish(result)
        except DailyThresholdReached:
            halt.set()
            for item in pending:
                finish(RowResult(item.task.row, Outcome.NOT_RUN,
                                 f"Alma accepted the delete of portfolio {item.portfolio_id}, but the daily API "
                                 "allowance ran out before it could be read back; the read-back runs automatically "
                                 "after midnight UTC.", mms_id=item.mms_id, portfolio_id=item.portfolio_id,
                                 backup=item.backup), final=False)
        ctx.forget(wanted)

    # Two windows in flight: while one waits for its batched read-back, the next one's rows
    # already run, so the rate limiter always has a call ready. Windows never share a record
    # (conflict groups are never split), so they cannot step on each other.
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="row") as rows_pool, \
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="window") as window_pool:
        for future in [window_pool.submit(run_window, w) for w in windows]:
            future.result()
    report.daily_limit_reached = halt.is_set()
    report.stopped = stop.is_set()
    return report
