"""Every rule that needs no network, checked on the whole file before anything is sent to Alma.

``validate(sheet, settings)`` returns the problems intake found in the cells plus every
whole-file rule below; an empty list means the file may run. A file with any problem is
rejected whole: nothing is changed in Alma for any of its rows.

Rules, each with a message written for the person who filled in the sheet:

* the columns the processor needs are there (and, if not, which columns it did find);
* every action is delete, relink, group or keep; every bib handling is delete, suppress or keep;
* a delete, relink or group row says which record it is about (MMS ID, Portfolio ID, or a
  Voyager Bib ID the settings can turn into an MMS ID);
* a relink row has a target, and the target is not the row's own record;
* a group row names its collection (an ID Excel did not round, or a public name) and keeps its bib;
* one portfolio gets one action; a portfolio kept as a relink target is not deleted
  elsewhere; no row repeats another;
* all Alma IDs end in the same institution code;
* the file has rows, and not only keep rows.
"""
from __future__ import annotations

import re
from collections import Counter

from .collector import collector_paused
from .config import Settings
from .ids import display, institution_suffix, label
from .model import (EXCEL_MAX_COLUMNS, RESULT_COLUMNS_ADDED, Action, BibHandling, Problem, Row, Sheet, column_letter,
                    shorten)

ALMA_ID_FIELDS = ("mms_id", "portfolio_id", "target_mms_id", "target_portfolio_id")
ACTING = (Action.DELETE, Action.RELINK, Action.GROUP)
# Collection and service IDs (61..., 62...) have as many digits as MMS IDs: Excel rounds them too.
_GROUP_ID_FIELDS = ("collection", "service")
# An Action cell that is not exactly an action word but mentions one ("delete?", "maybe delete",
# "not delete", "delete (check)") gets its own message: the processor does not guess.
_DOUBTFUL = re.compile(r"delete|re[\s_-]*link|keep|group", re.IGNORECASE)


def record_words(key: tuple[str, str]) -> str:
    """What a row acts on, in words: ``("mms", "99...")`` -> ``"The record with MMS ID 99..."``."""
    kind, value = key
    start = {"portfolio": "Portfolio", "mms": "The record with MMS ID", "bib": "The record with Voyager Bib ID"}[kind]
    return f"{start} {shorten(value)}"


def validate(sheet: Sheet, settings: Settings) -> list[Problem]:
    """``sheet.problems`` plus every whole-file rule; an empty list means OK to run."""
    with collector_paused():  # every row is walked several times: no rescans by the cyclic collector
        return list(sheet.problems) + _Checker(sheet, settings).run()


class _Checker:
    def __init__(self, sheet: Sheet, settings: Settings):
        self.sheet = sheet
        self.settings = settings
        self.problems: list[Problem] = []
        # cells intake already complained about: no second message for the same cell
        self.flagged = {(p.row, p.column) for p in sheet.problems if p.row and p.column}

    # -- helpers ------------------------------------------------------------------------
    def where(self, row: Row | None, field_name: str | None) -> dict:
        index = self.sheet.columns.get(field_name) if field_name else None
        return {
            "sheet": self.sheet.sheet_name,
            "row": row.number if row is not None else None,
            "column": column_letter(index) if index is not None else None,
            "column_name": (self.sheet.headers[index] if index is not None and index < len(self.sheet.headers) else None)
            or (label(field_name) if field_name else None),
        }

    def add(self, message: str, row: Row | None = None, field_name: str | None = None) -> None:
        self.problems.append(Problem(message, **self.where(row, field_name)))

    def was_flagged(self, row: Row, field_name: str) -> bool:
        return (row.number, self.sheet.column_letter(field_name)) in self.flagged

    def found_columns(self) -> str:
        names = [f"{column_letter(i)} ({shorten(h)})" for i, h in enumerate(self.sheet.headers) if h]
        if len(names) > 40:  # a sheet can have 16,384 columns: name the first ones and count the rest
            names = names[:40] + [f"and {len(names) - 40:,} more"]
        return ", ".join(names) if names else "none"

    # -- rules --------------------------------------------------------------------------
    def run(self) -> list[Problem]:
        sheet = self.sheet
        if not sheet.rows:
            self.problems.append(Problem(
                f"The sheet '{shorten(sheet.sheet_name)}' has a header row (row {sheet.header_row}) but no rows below it: "
                "add the rows to process under the header and put the file back.",
                sheet=sheet.sheet_name, row=sheet.header_row,
            ))
            return self.problems
        if not self.columns_present():
            return self.problems
        self.room_for_results()
        for row in sheet.rows:
            self.row_rules(row)
        self.conflicts()
        self.institution_codes()
        if not any(row.action in ACTING for row in sheet.rows) and not any(
            row.action is None for row in sheet.rows
        ):
            self.problems.append(Problem(
                "Every row is marked keep (or has an empty Action cell), so there is nothing to do: "
                "write delete, relink or group in the Action column of the rows to change, and put the file back.",
                sheet=sheet.sheet_name, row=sheet.header_row, column=sheet.column_letter("action"),
                column_name=self.where(None, "action")["column_name"],
            ))
        return self.problems

    def columns_present(self) -> bool:
        cols = self.sheet.columns
        if not any(name in cols for name in ("mms_id", "portfolio_id", "voyager_bib_id")):
            self.problems.append(Problem(
                "The sheet has no column for the record to work on: add a column headed MMS ID "
                "(or Portfolio ID, or Voyager Bib ID). Columns found: " + self.found_columns() + ".",
                sheet=self.sheet.sheet_name, row=self.sheet.header_row,
            ))
            return False
        relinks = [row for row in self.sheet.rows if row.action is Action.RELINK]
        if relinks and not any(name in cols for name in ("target_mms_id", "target_portfolio_id")):
            self.problems.append(Problem(
                f"Row {relinks[0].number} asks to relink, but the sheet has no Target MMS ID column "
                "(the record the PO line moves to): add a column headed Target MMS ID (or Target Portfolio ID) "
                "and fill it in for every relink row. Columns found: " + self.found_columns() + ".",
                sheet=self.sheet.sheet_name, row=self.sheet.header_row,
            ))
            return False
        groups = [row for row in self.sheet.rows if row.action is Action.GROUP]
        if groups and "collection" not in cols:
            self.problems.append(Problem(
                f"Row {groups[0].number} asks to group, but the sheet has no Collection column: add a column headed "
                "Collection and fill in, for every group row, the ID (it starts with 61) or the public name of the "
                "local electronic collection. Columns found: " + self.found_columns() + ".",
                sheet=self.sheet.sheet_name, row=self.sheet.header_row,
            ))
            return False
        return True

    def room_for_results(self) -> None:
        """The results go in the columns after the sheet's last used column; Excel must have room for them.

        One stray cell far to the right (XFD is Excel's last column) would push them off the sheet.
        """
        sheet = self.sheet
        width = max([len(sheet.headers)] + [len(sheet.values_of(row)) for row in sheet.rows])
        if width + RESULT_COLUMNS_ADDED <= EXCEL_MAX_COLUMNS:
            return
        last = max((i for i, h in enumerate(sheet.headers) if h), default=-1)
        found = _rightmost_cell(sheet, last + 1)
        number, index = found if found else (sheet.header_row, width - 1)
        headed = f"your last heading is in column {column_letter(last)}" if last >= 0 else "the sheet has no headings"
        self.problems.append(Problem(
            f"Something is in cell {column_letter(index)}{number}, far to the right of your columns ({headed}). "
            f"The results are added after the last used column, and Excel has no room left there (its last column "
            f"is XFD). Delete column {column_letter(index)} (or clear everything right of your columns), save the "
            "file and put it back.",
            sheet=sheet.sheet_name, row=number, column=column_letter(index)))

    def row_rules(self, row: Row) -> None:
        if row.action is None:
            if _DOUBTFUL.search(row.action_text):
                self.add(f"The Action cell says '{shorten(row.action_text)}', which is not exactly delete, relink, "
                         "group or keep, so the processor will not guess. If this row is to be changed, write just the "
                         "word (delete, relink or group); if you are not sure, write keep (or leave the cell empty) and check the "
                         "row first.", row, "action")
            else:
                self.add(f"Unknown action '{shorten(row.action_text)}': write delete, relink, group or keep.", row, "action")
        if row.bib_handling is None and row.bib_handling_text and row.action is not Action.KEEP:
            self.add(f"Unknown bib handling '{shorten(row.bib_handling_text)}': write delete, suppress or keep "
                     "(or leave it empty to use the usual setting).", row, "bib_handling")
        if row.action not in ACTING:
            return
        action = row.action.value
        if not (row.mms_id or row.portfolio_id or row.voyager_bib_id):
            if not any(self.was_flagged(row, f) for f in ("mms_id", "portfolio_id", "voyager_bib_id")):
                field_name: str = next(f for f in ("mms_id", "portfolio_id", "voyager_bib_id") if f in self.sheet.columns)
                self.add(f"This row says {action} but has no MMS ID, Portfolio ID or Voyager Bib ID: "
                         "fill in the MMS ID of the P2E record.", row, field_name)
        elif row.voyager_bib_id and not (row.mms_id or row.portfolio_id) and not (
            self.settings.mms_id_suffix or self.settings.other_system_id_pattern
        ):
            if not self.was_flagged(row, "mms_id"):
                self.add(
                    f"This row has only a Voyager Bib ID ({shorten(row.voyager_bib_id)}), and the processor has not been told how "
                    "to find that record in Alma: fill in the MMS ID, or ask whoever runs the processor to add "
                    "MMS_ID_SUFFIX (the digits after the bib ID in your MMS IDs, for example MMS_ID_SUFFIX=12205899) "
                    "or OTHER_SYSTEM_ID_PATTERN (for example OTHER_SYSTEM_ID_PATTERN=(UIUdb){bib_id}) to config.env.",
                    row, "voyager_bib_id")
        elif row.portfolio_id and not (row.mms_id or row.voyager_bib_id):
            if not self.was_flagged(row, "mms_id"):
                field_name = "mms_id" if "mms_id" in self.sheet.columns else "portfolio_id"
                self.add(f"This row has a Portfolio ID ({shorten(row.portfolio_id)}) but no MMS ID: Alma finds a "
                         "portfolio through its bib, so fill in the MMS ID of the P2E record (or its Voyager Bib ID).",
                         row, field_name)
        if row.action is Action.GROUP:
            self.group_rules(row)
        if row.action is Action.RELINK:
            if row.target_portfolio_id and not row.target_mms_id:
                if not self.was_flagged(row, "target_mms_id"):
                    field_name = "target_mms_id" if "target_mms_id" in self.sheet.columns else "target_portfolio_id"
                    self.add(f"This row has a Target Portfolio ID ({shorten(row.target_portfolio_id)}) but no Target "
                             "MMS ID: the PO line moves to a record, so fill in the MMS ID of the record you keep "
                             "(the Community Zone record that portfolio is on).", row, field_name)
            elif not (row.target_mms_id or row.target_portfolio_id):
                if not (self.was_flagged(row, "target_mms_id") or self.was_flagged(row, "target_portfolio_id")):
                    field_name = "target_mms_id" if "target_mms_id" in self.sheet.columns else "target_portfolio_id"
                    self.add("This row says relink but has no Target MMS ID: fill in the MMS ID of the record the "
                             "PO line should move to (the Community Zone record you keep), or change the action.",
                             row, field_name)
            if row.target_mms_id and row.target_mms_id == row.mms_id:
                self.add(f"The Target MMS ID is the same as the MMS ID ({shorten(row.mms_id)}): the target must be the other "
                         "record (the Community Zone record you keep), not the P2E record being removed.",
                         row, "target_mms_id")
            if row.target_portfolio_id and row.target_portfolio_id == row.portfolio_id:
                self.add(f"The Target Portfolio ID is the same as the Portfolio ID ({shorten(row.portfolio_id)}): the target "
                         "must be the other portfolio (the Community Zone one you keep), not the P2E portfolio being removed.",
                         row, "target_portfolio_id")
        elif row.target_mms_id or row.target_portfolio_id:
            pass  # a target on a delete row is harmless: it is only used by relink

    def group_rules(self, row: Row) -> None:
        """A group row names its collection, in a form Excel left whole, and keeps its bib."""
        if not row.collection:
            self.add("This row says group but has no Collection: fill in the ID (it starts with 61) or the public "
                     "name of the local electronic collection the portfolio should move into.", row, "collection")
        for field_name in _GROUP_ID_FIELDS:
            index = self.sheet.columns.get(field_name)
            cells = self.sheet.values_of(row)
            value = cells[index] if index is not None and index < len(cells) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 10 ** 15:
                self.add(f"Excel rounded this {label(field_name)} ID (it now reads {shorten(display(value))}): format "
                         "the column as Text and paste the ID again, or write the "
                         f"{'collection' if field_name == 'collection' else 'service'}'s public name instead. Excel "
                         "keeps only 15 digits of a number.", row, field_name)
        if row.bib_handling in (BibHandling.DELETE, BibHandling.SUPPRESS):
            self.add(f"This row says group, which keeps the bib (only the portfolio moves into the collection), but "
                     f"its Bib handling says {row.bib_handling.value}: clear the Bib handling cell, or write keep.",
                     row, "bib_handling")

    def conflicts(self) -> None:
        """One action per portfolio, no repeated rows, no target that another row deletes."""
        seen: dict[tuple[str, str], Row] = {}
        for row in self.sheet.rows:
            if row.action is None or (row.action is Action.KEEP and not row.action_text):
                continue  # unknown (already reported) or unmarked
            key, field_name = self.record_key(row)
            if key is None:
                continue
            first = seen.get(key)
            if first is None:
                seen[key] = row
                continue
            what = record_words(key)
            assert first.action is not None and row.action is not None  # skipped above when None
            if first.action is not row.action:
                self.add(f"{what} is marked {row.action.value} here but {first.action.value} in row {first.number}: "
                         "give each portfolio one action (delete one of the two rows).", row, "action")
            elif row.action is Action.GROUP and (first.collection or "").lower() != (row.collection or "").lower():
                self.add(f"{what} is grouped into a different collection here than in row {first.number}: a portfolio "
                         "can go into one collection only; keep the right row and delete the other.", row, "collection")
            elif (first.target_mms_id, first.target_portfolio_id) != (row.target_mms_id, row.target_portfolio_id):
                self.add(f"{what} is relinked to a different target here than in row {first.number}: "
                         "a portfolio's PO line can move to one record only; keep the right row and delete the other.",
                         row, "target_mms_id" if "target_mms_id" in self.sheet.columns else "target_portfolio_id")
            else:
                self.add(f"This row repeats row {first.number} ({what[0].lower() + what[1:]}, {row.action.value}): "
                         "delete one of the two rows.", row, field_name)

        # A target another row removes.
        removed_portfolios = {r.portfolio_id: r for r in self.sheet.rows if r.action in ACTING and r.portfolio_id}
        removed_bibs = {
            r.mms_id: r for r in self.sheet.rows
            if r.action in ACTING and r.action is not Action.GROUP and r.mms_id  # group keeps the bib
            and (r.bib_handling or self.settings.bib_handling) is not BibHandling.RETAIN
        }
        for row in self.sheet.rows:
            if row.action is not Action.RELINK:
                continue
            other = removed_portfolios.get(row.target_portfolio_id) if row.target_portfolio_id else None
            if other is not None and other is not row:
                assert other.action is not None  # a removed portfolio's row deletes or relinks
                self.add(f"Portfolio {shorten(row.target_portfolio_id)} is the relink target here, but row {other.number} "
                         f"{other.action.value}s it: a portfolio cannot be both removed and kept. "
                         "Check which portfolio is the P2E one.", row, "target_portfolio_id")
            other = removed_bibs.get(row.target_mms_id) if row.target_mms_id else None
            if other is not None and other is not row:
                handling = (other.bib_handling or self.settings.bib_handling).staff_word
                self.add(f"Record {shorten(row.target_mms_id)} is the relink target here, but row {other.number} removes its "
                         f"portfolio and {'deletes' if handling == 'delete' else 'suppresses'} the record: the record "
                         "you keep cannot also be removed. Check which record is the P2E one.", row, "target_mms_id")

    def record_key(self, row: Row) -> tuple[tuple[str, str] | None, str]:
        """What a row acts on (its portfolio, else its record), and the column that names it."""
        if row.portfolio_id:
            return ("portfolio", row.portfolio_id), "portfolio_id"
        if row.mms_id:
            return ("mms", row.mms_id), "mms_id"
        if row.voyager_bib_id:
            return ("bib", row.voyager_bib_id), "voyager_bib_id"
        return None, ""

    def institution_codes(self) -> None:
        """Alma IDs end in the institution's 4-digit code; one that differs is from elsewhere.

        MMS IDs and portfolio IDs are compared within their own kind; MMS_ID_SUFFIX, when
        set, says what the MMS IDs must end in.
        """
        expected = None
        if self.settings.mms_id_suffix and len(self.settings.mms_id_suffix) >= 4:
            expected = self.settings.mms_id_suffix[-4:]
        self.same_code(("mms_id", "target_mms_id"), "MMS IDs", expected)
        self.same_code(("portfolio_id", "target_portfolio_id"), "portfolio IDs", None)

    def same_code(self, fields: tuple[str, ...], kind: str, expected: str | None) -> None:
        ids: list[tuple[Row, str, str]] = [
            (row, f, code)
            for row in self.sheet.rows if row.action in ACTING
            for f in fields if getattr(row, f) and (code := institution_suffix(getattr(row, f)))
        ]
        if not ids:
            return
        counts = Counter(code for _, _, code in ids)
        if expected is None:
            if len(counts) == 1:
                return
            code, count = counts.most_common(1)[0]
            if count * 2 <= len(ids):
                shown = ", ".join(c for c, _ in counts.most_common(5))
                self.problems.append(Problem(
                    f"The {kind} in this file end in different institution codes ({shown}), so the processor cannot "
                    "tell which is yours. Alma IDs end in the 4-digit code of the institution that owns them: use only "
                    "your own institution's IDs.", sheet=self.sheet.sheet_name, row=self.sheet.header_row))
                return
            expected = code
        for row, f, code in ids:
            if code != expected:
                self.add(f"This {label(f)} ({shorten(getattr(row, f))}) ends in {code}, but your institution's {kind} end in "
                         f"{expected}: it belongs to another institution or to the Network Zone, or Excel changed it. "
                         "Use your own institution's ID for this record.", row, f)


def _rightmost_cell(sheet: Sheet, start: int) -> tuple[int, int] | None:
    """(Excel row, column index) of the right-most non-empty cell at or after column ``start``."""
    best: tuple[int, int] | None = None
    candidates = [(sheet.header_row, sheet.headers)] + [(row.number, sheet.values_of(row)) for row in sheet.rows]
    for number, values in candidates:
        for index in range(len(values) - 1, start - 1, -1):
            if values[index] not in (None, ""):
                if best is None or index > best[1]:
                    best = (number, index)
                break
    return best


__all__ = ["validate"]
