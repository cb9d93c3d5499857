"""The shared vocabulary of the processor: actions, outcomes, rows, problems, results.

Every stage speaks in these terms. Intake turns a workbook into :class:`Sheet` and
:class:`Row`; validation returns :class:`Problem`; plan turns rows into :class:`Task`;
the run returns :class:`RowResult`; the report writes them back as a workbook, and
:class:`FileStatus` says what became of the file. Nothing here knows about Excel or HTTP.

>>> Action.parse(" Delete ")
<Action.DELETE: 'delete'>
>>> BibHandling.parse("keep")
<BibHandling.RETAIN: 'retain'>
>>> Problem("Unknown action 'remove'", sheet="P2E", row=7, column="M", column_name="Action").where()
"sheet 'P2E', row 7, column M (Action)"
>>> FileStatus.WAITING == "waiting", f"{FileStatus.LOCK_LOST}"
(True, 'lock-lost')
"""
from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .alma.errors import AlmaErrorInfo

__all__ = ["AlmaErrorInfo"]  # the HTTP layer's type, named here too because every result may carry one


def _word(text: object) -> str:
    """Lower-case a cell value and squeeze its spacing: '  Delete ' -> 'delete'."""
    return " ".join(str(text or "").replace("\u00a0", " ").split()).lower()


def _member(cls, text: object):
    """The member of an enum whose value a cell names (forgiving case and spacing), or None."""
    word = _word(text)
    return next((member for member in cls if member.value == word), None)


class Action(str, enum.Enum):
    """What staff ask for on one row."""

    DELETE = "delete"
    RELINK = "relink"
    KEEP = "keep"
    GROUP = "group"  # move the P2E portfolio into a local collection; the bib stays (CARLI's third scenario)

    @classmethod
    def parse(cls, text: object) -> "Action | None":
        """The action a cell names: the exact word, in any case and spacing, or a documented synonym.

        Anything else is None, including a word with a sign of doubt ("delete?", "maybe delete",
        "not delete", "delete (check)"): deleting is irreversible, so the processor never guesses.

        >>> Action.parse(" Re-link "), Action.parse("delete?"), Action.parse("don't delete")
        (<Action.RELINK: 'relink'>, None, None)
        """
        word = _word(str(text or "").translate(_INVISIBLE))
        return _ACTION_SYNONYMS.get(word) or _member(cls, word)

    @classmethod
    def allowed(cls) -> str:
        return ", ".join(a.value for a in cls)


# Spellings of an action word that count as the word itself (docs/spreadsheet.md lists them).
_ACTION_SYNONYMS = {"re-link": Action.RELINK, "re link": Action.RELINK}
# Characters nobody sees in a cell: ignored around an action word.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)


class BibHandling(str, enum.Enum):
    """What Alma does with the bib once its portfolio is deleted (the API's ``bib=`` value).

    Staff write delete / suppress / keep; Alma calls "keep" ``retain``.
    """

    DELETE = "delete"
    SUPPRESS = "suppress"
    RETAIN = "retain"

    @classmethod
    def parse(cls, text: object) -> "BibHandling | None":
        word = _word(text)
        if word in ("keep", "retain", "do nothing", "nothing"):
            return cls.RETAIN
        return _member(cls, text)

    @property
    def staff_word(self) -> str:
        return "keep" if self is BibHandling.RETAIN else self.value


class Mode(str, enum.Enum):
    """Apply changes in Alma, or only say what would happen; or suggest the actions (read-only, p2e/suggest)."""

    APPLY = "apply"
    PREVIEW = "preview"
    SUGGEST = "suggest"

    @classmethod
    def parse(cls, text: object) -> "Mode | None":
        return _member(cls, text)


class Outcome(str, enum.Enum):
    """The word in the results workbook's Result column."""

    DONE = "Done"
    ALREADY_DONE = "Already done"
    KEPT = "Kept"
    SKIPPED = "Skipped"
    FAILED = "Failed"
    NOT_RUN = "Not run"
    PREVIEW = "Preview"

    @property
    def needs_attention(self) -> bool:
        return self in (Outcome.SKIPPED, Outcome.FAILED, Outcome.NOT_RUN)


# The fields the processor understands, in the order the template shows them.
# Intake maps the workbook's own headers onto these names.
FIELDS = (
    "voyager_bib_id",
    "mms_id",
    "portfolio_id",
    "action",
    "bib_handling",
    "target_mms_id",
    "target_portfolio_id",
    "po_line",
    "collection",
    "service",
)
ID_FIELDS = ("voyager_bib_id", "mms_id", "portfolio_id", "target_mms_id", "target_portfolio_id")
FIELD_LABELS = {
    "voyager_bib_id": "Voyager Bib ID",
    "mms_id": "MMS ID",
    "portfolio_id": "Portfolio ID",
    "action": "Action",
    "bib_handling": "Bib handling",
    "target_mms_id": "Target MMS ID",
    "target_portfolio_id": "Target Portfolio ID",
    "po_line": "PO Line",
    "collection": "Collection",
    "service": "Service",
}


# Excel's grid, and how many columns the results workbook adds after the staff's own columns:
# Result, Details, MMS ID, Portfolio ID, Bib, Alma error, Backup, plus "Excel row" in front on the
# Needs attention sheet. A sheet whose used range leaves fewer free columns cannot be handed back whole.
EXCEL_MAX_COLUMNS = 16_384
RESULT_COLUMNS_ADDED = 8


# The step a row skipped for its active PO line names (the run sets it; the report's ID sets look for it).
ACTIVE_ORDER_STEP = "check active PO line"


# The most characters of a cell that any message quotes (console, log, email, REJECTED workbook).
QUOTE_CHARS = 80


def shorten(value: object, limit: int = QUOTE_CHARS) -> str:
    """A cell value as a message may quote it: one line, at most about ``limit`` characters.

    A longer value keeps its start and says how long it was, so the advice that follows it in
    a message is never pushed out of sight. Use it wherever a cell value is echoed.

    >>> shorten("  delete?  ")
    'delete?'
    >>> shorten("x" * 40000)[-24:]
    'xxx… (40,000 characters)'
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    head = " ".join(text[: limit * 4].split())  # newlines and tabs become spaces
    if len(text) <= limit and len(head) <= limit:
        return head
    keep = max(limit - 20, 10)
    if len(head) <= keep and len(text) <= limit * 4:
        return head
    return head[:keep].rstrip() + f"… ({len(text):,} characters)"


@dataclass
class Problem:
    """Something wrong with the file, said so that a person can find and fix it.

    ``row`` is the row number Excel shows; ``column`` the column letter Excel shows.
    """

    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    column_name: str | None = None

    def __post_init__(self) -> None:
        # the sheet name and the column heading come from the file: quote them short
        if self.sheet is not None and len(self.sheet) > QUOTE_CHARS:
            self.sheet = shorten(self.sheet)
        if self.column_name is not None and len(self.column_name) > QUOTE_CHARS:
            self.column_name = shorten(self.column_name)

    def where(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}" + (f" ({self.column_name})" if self.column_name else ""))
        elif self.column_name:
            parts.append(f"column {self.column_name}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


@dataclass(slots=True)
class Row:
    """One data row of the staff's sheet, with its IDs cleaned to text.

    ``values`` holds every original cell of the row, in column order, so the results
    workbook can give staff back their own columns untouched.
    """

    number: int
    values: list[Any]
    action: Action | None = None
    action_text: str = ""
    mms_id: str | None = None
    portfolio_id: str | None = None
    voyager_bib_id: str | None = None
    target_mms_id: str | None = None
    target_portfolio_id: str | None = None
    po_line: str | None = None
    bib_handling: BibHandling | None = None
    bib_handling_text: str = ""
    collection: str | None = None  # group: a local electronic collection's ID or public name
    service: str | None = None  # group: the collection's e-service (ID or name), when it has several


class CellStore(Protocol):
    """Where intake keeps rows' original cells compressed (see :mod:`p2e.intake.originals`)."""

    def values(self, row: Row) -> list[Any]: ...


@dataclass
class Sheet:
    """What intake read from a workbook: the action sheet, its header and its rows."""

    source: Path
    sheet_name: str
    header_row: int
    headers: list[str]
    columns: dict[str, int]
    rows: list[Row] = field(default_factory=list)
    mode: Mode | None = None
    email_to: list[str] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)  # the Settings sheet's Collections (IDs or names), for suggest
    # Cell-level problems found while reading (a rounded ID, a date in an ID column, ...).
    problems: list[Problem] = field(default_factory=list)
    # The rows' original cells when intake kept them compressed (the pipeline's reading): each row's
    # ``values`` is then empty; read them with :meth:`values_of`.
    cells: CellStore | None = None

    def values_of(self, row: Row) -> list[Any]:
        """Every original cell of ``row``, in column order, wherever it is kept."""
        return row.values if self.cells is None else self.cells.values(row)

    def column_letter(self, field_name: str) -> str | None:
        index = self.columns.get(field_name)
        return None if index is None else column_letter(index)


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(slots=True)
class RowResult:
    """What happened to one row, in words staff can act on."""

    row: Row
    outcome: Outcome
    details: str
    mms_id: str | None = None
    portfolio_id: str | None = None
    alma_error: AlmaErrorInfo | None = None
    backup: str | None = None
    step: str | None = None
    bib: str | None = None  # what became of the bib: deleted, suppressed, kept
    grouped: "Grouped | None" = None  # group rows: the collection and service, the old and the new portfolio


@dataclass(frozen=True)
class Grouped:
    """Where a group row's portfolio went (or would go): for the report's Next steps sheet and ID files.

    ``new_portfolio_id`` is empty in a preview; ``created_collection`` is True on the row whose run
    created the collection (CREATE_COLLECTIONS=yes).
    """

    collection_id: str
    collection_name: str
    service_id: str
    old_portfolio_id: str
    new_portfolio_id: str = ""
    created_collection: bool = False


@dataclass(frozen=True, slots=True)
class Task:
    """One row's work, with every ID and choice that can be known without Alma resolved from the row and the settings.

    ``mms_id`` is None only when the row gave a Voyager bib ID and the settings say to look it up
    (``other_system_id``); the run confirms or finds every ID in Alma before it writes.
    """

    row: Row
    action: Action
    mms_id: str | None = None
    portfolio_id: str | None = None
    target_mms_id: str | None = None
    target_portfolio_id: str | None = None
    po_line: str | None = None
    bib_handling: BibHandling = BibHandling.DELETE
    other_system_id: str | None = None  # look the MMS ID up by this (035) when the row has none
    mms_id_source: str = "sheet"  # sheet | rule | other_system_id
    collection: str | None = None  # group: the local collection's ID or public name
    service: str | None = None  # group: its e-service's ID or name (needed when it has several)

    def records(self) -> Iterator[tuple[str, str]]:
        """(kind, ID) of each record this task touches, the IDs being the task's own strings (no copies);
        tasks sharing one run one after another.

        >>> list(Task(Row(2, []), Action.RELINK, mms_id="99", portfolio_id="53", target_mms_id="99").records())
        [('bib', '99'), ('bib', '99'), ('portfolio', '53')]
        """
        for kind, value in (("bib", self.mms_id), ("bib", self.target_mms_id), ("portfolio", self.portfolio_id),
                            ("portfolio", self.target_portfolio_id), ("pol", self.po_line),
                            ("osid", self.other_system_id)):
            if value:
                yield kind, value


class FileStatus(enum.StrEnum):
    """What became of one file (``FileOutcome.status``); equal to the plain words used before it was an enum."""

    PROCESSED = "processed"
    REJECTED = "rejected"
    PAUSED = "paused"  # Alma's daily allowance ran out; the rest runs after midnight UTC
    STOPPED = "stopped"  # the processor was stopped part-way
    WAITING = "waiting"  # Alma could not be reached or refused the API key; the file waits
    LOCK_LOST = "lock-lost"  # another watcher took the inbox over: nothing is written
