"""What a row works with: the run's shared :class:`RunContext`, the row's :class:`Job`, and a :class:`PendingDelete`.

A :class:`~p2e.model.Task` comes from plan with every ID the sheet and the settings give; a
:class:`Job` is that task once its MMS ID is confirmed in Alma, with the IDs Alma names
(the P2E portfolio, the PO line, the portfolio that receives it) filled in as the checks find them.

>>> from p2e.model import Action, Row
>>> job = Job(Task(Row(7, []), Action.DELETE, portfolio_id="531"), mms_id="991")
>>> job.row.number, job.mms_id, job.portfolio_id
(7, '991', '531')
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..alma.client import AlmaClient
from ..alma.errors import AlmaError
from ..backup import BackupStore
from ..config import Settings
from ..journal import Journal
from ..model import Action, BibHandling, Row, Task

if TYPE_CHECKING:
    from .local_collections import CollectionFinder

BIB_EXPAND = "p_avail,e_avail"


def _collection_finder() -> "CollectionFinder":
    from .local_collections import CollectionFinder  # it needs this module's types: imported when a run starts

    return CollectionFinder()


@dataclass
class RunContext:
    """What every action needs: the client, settings, journal and backups of this run."""

    client: AlmaClient
    settings: Settings
    journal: Journal
    backups: BackupStore
    run_id: str
    preview: bool = False
    fence: Callable[[], None] = lambda: None  # raises LockLost when this process no longer holds the inbox
    bibs: dict[str, dict | None] = field(default_factory=dict)
    collections: "CollectionFinder" = field(default_factory=_collection_finder)  # group rows' collections, once a run
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bib(self, mms_id: str) -> dict | None:
        """The bib as read at the start of this window (batched), or read now."""
        with self._lock:
            if mms_id in self.bibs:
                return self.bibs[mms_id]
        bib = self.client.get_bib_or_none(mms_id, view="full", expand=BIB_EXPAND)
        with self._lock:
            self.bibs[mms_id] = bib
        return bib

    def prefetch(self, mms_ids: list[str]) -> None:
        """Read many bibs in calls of 100 (``GET /bibs?mms_id=``); absent ones are remembered as absent."""
        wanted = [m for m in dict.fromkeys(mms_ids) if m and m not in self.bibs]
        if not wanted:
            return
        found = self.client.get_bibs(wanted, view="full", expand=BIB_EXPAND)
        with self._lock:
            for mms_id in wanted:
                self.bibs[mms_id] = found.get(mms_id)

    def forget(self, mms_ids: list[str]) -> None:
        with self._lock:
            for mms_id in mms_ids:
                self.bibs.pop(mms_id, None)


@dataclass
class Job:
    """A task as it runs: its MMS ID confirmed; the other IDs filled in as Alma names them."""

    task: Task
    mms_id: str
    portfolio_id: str | None = None
    target_portfolio_id: str | None = None
    po_line: str | None = None

    def __post_init__(self) -> None:
        self.portfolio_id = self.portfolio_id or self.task.portfolio_id
        self.target_portfolio_id = self.target_portfolio_id or self.task.target_portfolio_id
        self.po_line = self.po_line or self.task.po_line

    @property
    def row(self) -> Row:
        return self.task.row

    @property
    def action(self) -> Action:
        return self.task.action

    @property
    def target_mms_id(self) -> str | None:
        return self.task.target_mms_id

    @property
    def bib_handling(self) -> BibHandling:
        return self.task.bib_handling


@dataclass
class PendingDelete:
    """A portfolio delete that Alma accepted and that still has to be read back."""

    task: Task
    mms_id: str
    portfolio_id: str
    handling: BibHandling
    done_before: str = ""  # what the row already did (relink), said before the delete's outcome
    nz_link: str = ""
    backup: str | None = None


class RowInterrupted(Exception):
    """An Alma error that stops every row (daily allowance, outage, refused key) met while a row ran.

    Carries the IDs the row had found by then, for its "Not run" result.
    """

    def __init__(self, error: AlmaError, mms_id: str | None, portfolio_id: str | None):
        super().__init__(str(error))
        self.error = error
        self.mms_id = mms_id
        self.portfolio_id = portfolio_id
