"""The template's Settings sheet: Mode (Preview, Apply or Suggest), "Email results to" and Collections.

Collections (for Mode Suggest) names the Community Zone e-collections being cleaned up, by ID or
by public name, several separated by ";" or on separate lines:

>>> collection_names("61100012205899; Alexander Street Press American History in Video")
['61100012205899', 'Alexander Street Press American History in Video']

Each value sits in the cell to the right of its label. A Mode that says Apply where nobody can
see it (a hidden sheet, row or column) is a problem, not a setting.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Protocol

from ..ids import display
from ..model import Mode, Problem, Sheet, column_letter, shorten
from .headers import normalise_header
from .raw import RawRow, blank
from .rows import text_of



class SettingsRows(Protocol):
    """What the Settings sheet is read through: its rows, and which columns are hidden."""

    def rows(self) -> Iterator[RawRow]: ...

    def column_hidden(self, col: int) -> bool: ...

    def close(self) -> None: ...


COLLECTION_LABELS = ("collections", "collection", "ecollections", "ecollection", "czcollections", "czcollection")


def collection_names(text: str) -> list[str]:
    """The collections a Collections cell names: split on ";", "|" and line breaks (a name may hold a comma);
    a cell of IDs only may also use commas or spaces."""
    parts = [p.strip() for p in re.split(r"[;|\n\r]+", text or "") if p.strip()]
    out: list[str] = []
    for part in parts:
        pieces = [p for p in re.split(r"[,\s]+", part) if p]
        out.extend(pieces if all(p.isdigit() for p in pieces) else [" ".join(part.split())])
    return out


_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def read_settings_sheet(parser: SettingsRows, title: str, state: str, sheet: Sheet) -> None:
    """Set ``sheet.mode`` and ``sheet.email_to`` from a Settings sheet's labelled cells (in its first 50 rows).

    ``parser`` streams the Settings sheet's rows (see :mod:`p2e.intake.book`); ``state`` is the sheet's."""
    hidden_sheet = state in ("hidden", "veryHidden")
    for raw in parser.rows():
        if raw.number > 50:
            break
        cells = raw.values
        for i, value in enumerate(cells):
            key = normalise_header(value) if isinstance(value, str) else ""
            if key not in ("mode", "emailresultsto", "emailto", "email") + COLLECTION_LABELS:
                continue
            j = i + 1  # the value sits in the cell to the right of its label
            answer = cells[j] if j < len(cells) else None
            where: dict[str, Any] = {"sheet": title, "row": raw.number, "column": column_letter(j), "column_name": display(value)}
            if key == "mode":
                if blank(answer):
                    continue
                mode = Mode.parse(answer)
                if mode is None:
                    sheet.problems.append(Problem(f"Mode '{shorten(display(answer))}' is not Preview, Apply or Suggest: choose Preview (nothing changes in Alma), Apply, or Suggest (fill in the actions for you to check) from the list.", **where))
                elif mode is Mode.APPLY and (hidden_sheet or raw.hidden or parser.column_hidden(j)):
                    place = f"the sheet '{shorten(title)}' is hidden" if hidden_sheet else "its cell is hidden"
                    sheet.problems.append(Problem(
                        f"Mode says Apply, but {place}: a file would change Alma without anyone seeing that it "
                        "will. Unhide it (right-click a sheet tab, Unhide; or unhide the row or column), check "
                        "the Mode, and put the file back.", **where))
                else:
                    sheet.mode = mode
            elif key in COLLECTION_LABELS:
                for name in collection_names(text_of(answer)):
                    if name not in sheet.collections:
                        sheet.collections.append(name)
            else:
                for address in re.split(r"[,;\s]+", text_of(answer)):
                    address = address.strip().strip("<>")
                    if not address:
                        continue
                    if _EMAIL.match(address):
                        if address not in sheet.email_to:
                            sheet.email_to.append(address)
                    else:
                        sheet.problems.append(Problem(f"'{shorten(address)}' is not an email address: write addresses like name@library.edu, separated by commas.", **where))
            break
    parser.close()
