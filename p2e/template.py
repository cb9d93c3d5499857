"""The blank staff template: ``python processor.py template`` writes templates/P2E-cleanup-template.xlsx.

Three sheets:

* **Instructions**: plain English for cataloguers: what delete, relink, group and keep do in
  Alma (following CARLI's P2E clean-up guide), how to preview, how to read the results.
* **Actions**: one row per P2E portfolio. Header row frozen, a note on every heading and an
  input message on every column, dropdowns for Action and Bib handling, every ID column
  formatted as Text so Excel cannot round an MMS ID.
* **Settings**: Mode (Preview / Apply / Suggest, a dropdown), "Email results to" and Collections
  (the Community Zone collections a suggestion run looks in).

Every text is written with ``write_string`` (:func:`p2e.xlsx.write_text`), never as a formula.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import xlsxwriter

from .model import FIELD_LABELS, ID_FIELDS
from .xlsx import text_format, write_text

TEMPLATE_NAME = "P2E-cleanup-template.xlsx"
ACTIONS_SHEET = "Actions"
SETTINGS_SHEET = "Settings"
INSTRUCTIONS_SHEET = "Instructions"
LAST_ROW = 1_048_575  # Excel's last row, 0-based: dropdowns and formats cover the whole column

ACTION_CHOICES = ["delete", "relink", "group", "keep"]
BIB_HANDLING_CHOICES = ["delete", "suppress", "keep"]
MODE_CHOICES = ["Preview", "Apply", "Suggest"]

# (header, field or None, width, note on the heading, input message title, input message)
# Input messages are limited by Excel to 32 characters of title and 255 of text.
COLUMNS: list[tuple[str, str | None, int, str, str, str]] = [
    (FIELD_LABELS["voyager_bib_id"], "voyager_bib_id", 16,
     "The bib number from your old catalogue (Voyager BIB_ID; column A of CARLI's P2E file). "
     "Optional when you fill in the MMS ID.",
     "Voyager Bib ID",
     "The old catalogue's bib number, e.g. 5539966. Optional if the MMS ID is filled in. Paste as text."),
    (FIELD_LABELS["mms_id"], "mms_id", 21,
     "The MMS ID of the P2E record in Alma: starts with 99, for example 9917042712205899. "
     "This column is Text: paste IDs with Paste Special > Values so Excel cannot round them.",
     "MMS ID of the P2E record",
     "Starts with 99, e.g. 9917042712205899. Paste with Paste Special > Values (or type) so it stays text."),
    (FIELD_LABELS["portfolio_id"], "portfolio_id", 21,
     "The P2E portfolio's ID in Alma: starts with 53. Optional: if it is empty, the processor uses the "
     "standalone local (P2E) portfolio on the MMS ID's record.",
     "P2E portfolio ID (optional)",
     "Starts with 53, e.g. 53212785660002561. Leave empty to use the P2E portfolio on the record."),
    ("Title", None, 40,
     "For you: the title, so you can recognise the row. The processor does not use it.",
     "Title (for you)",
     "Any text. The processor does not read this column; it comes back unchanged in the results."),
    (FIELD_LABELS["action"], "action", 11,
     "What to do with this row: delete, relink, group or keep (choose from the list). "
     "An empty Action cell is treated as keep.",
     "delete, relink, group or keep",
     "delete: remove the P2E portfolio. relink: move its PO line to the target record, then remove it. "
     "group: move it into the local collection named under Collection. keep: leave it alone."),
    (FIELD_LABELS["bib_handling"], "bib_handling", 13,
     "What happens to the P2E bib record once its portfolio is removed: delete (CARLI's preferred choice), "
     "suppress, or keep. Leave empty for the usual setting.",
     "Bib record afterwards",
     "delete (preferred), suppress, or keep. Empty = the usual setting for your library."),
    (FIELD_LABELS["target_mms_id"], "target_mms_id", 21,
     "For relink only: the MMS ID of the record you keep (the Community Zone-linked record) that the "
     "PO line moves to. Starts with 99.",
     "Record to keep (relink only)",
     "For relink: the MMS ID of the CZ-linked record the PO line moves to. Starts with 99."),
    (FIELD_LABELS["target_portfolio_id"], "target_portfolio_id", 21,
     "For relink only, optional: the portfolio on the record you keep that should carry the PO line. "
     "Starts with 53.",
     "Portfolio to keep (optional)",
     "For relink, optional: the CZ portfolio that gets the PO line. Starts with 53."),
    (FIELD_LABELS["po_line"], "po_line", 14,
     "Optional: the PO line to move, for example POL-12345. If empty, the processor moves the PO line "
     "it finds on the P2E record.",
     "PO line (optional)",
     "For relink, optional: e.g. POL-12345. Empty = the PO line found on the P2E record."),
    (FIELD_LABELS["collection"], "collection", 24,
     "For group only: the local electronic collection the P2E portfolio moves into, by its ID (starts with 61) "
     "or its public name. The bib record is kept.",
     "Collection (group only)",
     "For group: the local e-collection's ID (starts with 61) or its public name."),
    (FIELD_LABELS["service"], "service", 18,
     "For group only, optional: the collection's service (its ID, starts with 62, or its name). Needed only when "
     "the collection has more than one service.",
     "Service (group, optional)",
     "For group, optional: the service's ID (starts with 62) or name. Needed only if the collection has several."),
    ("Notes", None, 40,
     "For you: any notes. The processor does not use them; they come back unchanged in the results.",
     "Notes (for you)",
     "Any text. The processor does not read this column."),
]

INSTRUCTIONS: list[tuple[str, str]] = [
    ("title", "P2E clean-up: how to fill in this workbook"),
    ("text", "This workbook tells the P2E clean-up processor what to do with the duplicate e-resources left by "
             "the P2E (physical-to-electronic) step of our migration to Alma: the standalone local portfolio made "
             "from the old catalogue's record, next to the Community Zone (CZ)-linked portfolio that came from the "
             "link resolver. It does the same work as CARLI's guide 'Cleaning up P2E Records in Alma', one row at a time."),
    ("heading", "Step by step"),
    ("text", "1. Go to the Actions sheet. Put one P2E portfolio on each row: at least its MMS ID (or the Voyager "
             "bib ID), and the portfolio ID if you have it. You can also add your own columns; they come back "
             "unchanged."),
    ("text", "2. In the Action column choose delete, relink, group or keep for each row (see below). Or let the processor "
             "suggest them: leave every Action empty (or set Mode to Suggest), name the Community Zone collections you "
             "are cleaning up under Collections on the Settings sheet, and put the file in the folder. It comes back "
             "as '<your file> - SUGGESTED <date>.xlsx' with the Action filled in where a match is sure, and a Match "
             "and a Why on every row. Nothing is changed in Alma."),
    ("text", "3. On the Settings sheet, leave Mode on Preview the first time, and write your email address under "
             "'Email results to'."),
    ("text", "4. Save the workbook (as .xlsx) into the shared folder. The processor picks it up, checks every row "
             "and sends you a results workbook."),
    ("text", "5. Read the results. When they look right, set Mode to Apply, save, and put the file in the folder again."),
    ("heading", "What delete does"),
    ("text", "delete removes the P2E portfolio (the standalone local portfolio from the old catalogue) and keeps the "
             "CZ-linked portfolio. This is CARLI's 'Duplicate Active Portfolios' clean-up, the same as running the "
             "Delete Portfolios job. Like CARLI's recommended job settings, the processor skips a portfolio that "
             "still has an active PO line; use relink for those."),
    ("heading", "What relink does"),
    ("text", "relink is for P2E titles that have a purchase order line (POL). It moves the PO line from the P2E "
             "record to the record you keep (fill in Target MMS ID: the CZ-linked record), links the PO line to that "
             "record's portfolio (the Acquisition tab), and then removes the P2E portfolio. This is CARLI's 'Relink "
             "Purchase Order Line' steps ('Change Bib Reference', then the portfolio's Acquisition tab, then delete)."),
    ("heading", "What group does"),
    ("text", "group is for P2E titles you keep but want to manage together: CARLI's 'Group ILS-migrated P2E "
             "portfolios into local collections'. Fill in Collection (the local electronic collection's ID or public "
             "name; Service too if it has several). Alma cannot move an existing portfolio into a collection, so the "
             "processor makes a new portfolio in the collection for the same bib, carrying over the link, coverage, "
             "availability, notes and license, moves the PO line to it, and then removes the standalone portfolio. "
             "The bib record is kept. The results name the old and the new portfolio ID."),
    ("heading", "Next steps in Alma: linking to the Community Zone"),
    ("text", "Alma links local portfolios to the Community Zone only in its own screens, one collection at a time "
             "(CARLI's 'Link ILS-migrated P2E portfolios to CZ but retain ILS-migrated bib records'). When a file "
             "has group rows, the results workbook has a 'Next steps in Alma' sheet with those steps for each "
             "collection, and files of IDs beside the results that you can upload as itemized sets."),
    ("heading", "What keep does"),
    ("text", "keep changes nothing in Alma. The row is reported as Kept. A row with an empty Action cell is treated "
             "as keep."),
    ("heading", "Bib handling: what happens to the P2E bib record"),
    ("text", "When a P2E portfolio is removed, its bib record is left without inventory. Bib handling says what to do "
             "with it: delete (CARLI's preferred choice: fewer orphaned records), suppress (hide it from discovery), "
             "or keep (leave it as it is). Leave the cell empty to use your library's usual setting."),
    ("heading", "IDs: keep them as text"),
    ("text", "Excel keeps only 15 digits of a number, and MMS IDs and portfolio IDs have 16 to 19, so Excel silently "
             "rounds them (9917042712205899 becomes 9917042712205900 or 9.91704E+15). The ID columns of this "
             "template are formatted as Text. When you copy IDs in, use Paste Special > Values (or Match Destination "
             "Formatting). If the processor says 'Excel rounded this MMS ID', format the column as Text and paste "
             "the IDs again from Alma or Analytics: a rounded ID cannot be repaired."),
    ("heading", "Preview first"),
    ("text", "With Mode set to Preview the processor changes nothing in Alma. It looks up every record and says, row "
             "by row, what it would do and what would stop it (a PO line still open, a record already gone, a target "
             "that does not exist). Apply does the work."),
    ("heading", "Reading the results"),
    ("text", "You get back a workbook named after your file. Its Summary sheet counts the rows by result; the "
             "Results sheet has all your columns plus Result and Details for every row. Results: Done (changed in "
             "Alma), Already done (nothing left to do), Kept (keep rows), Preview (what Apply would do), Skipped "
             "(not done, and why: fix and send again), Failed (Alma refused; the details say why), Not run (the "
             "run stopped before this row). You can put the same file in again: rows already done are not repeated."),
    ("heading", "If the file is refused"),
    ("text", "If anything in the file is wrong, nothing at all is changed in Alma. You get a workbook that lists "
             "every problem with its sheet, row and column, and what to do. Fix them and put the file in again."),
]


def write_template(path: Path) -> Path:
    """Write the blank staff template to ``path`` (folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                               "strings_to_urls": False})
    workbook.set_properties({"title": "P2E clean-up", "subject": "Actions for the P2E clean-up processor",
                             "comments": "Fill in the Actions sheet; see Instructions.",
                             # a fixed date keeps the committed file byte-for-byte reproducible
                             "created": datetime(2025, 1, 1)})
    fmt = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "heading": workbook.add_format({"bold": True, "font_size": 12, "top": 0}),
        "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
        "header": workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                       "valign": "top"}),
        "text": text_format(workbook),
        "value": workbook.add_format({"num_format": "@", "bg_color": "#FFF2CC", "border": 1}),
    }
    _instructions(workbook, fmt)
    _actions(workbook, fmt)
    _settings(workbook, fmt)
    workbook.close()
    return path


INSTRUCTIONS_WIDTH = 78  # characters: fits Letter and A4 portrait inside half-inch margins


def _instructions(workbook, fmt) -> None:
    ws = workbook.add_worksheet(INSTRUCTIONS_SHEET)
    # Printed on Letter or A4 in portrait without scaling: LibreOffice does not shrink a sheet to
    # "one page wide", so the column itself must fit inside the margins.
    ws.set_column(0, 0, INSTRUCTIONS_WIDTH, fmt["wrap"])
    ws.hide_gridlines(2)
    ws.set_portrait()
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.fit_to_pages(1, 0)  # and Excel, which can, keeps it one page wide
    for i, (kind, text) in enumerate(INSTRUCTIONS):
        if kind not in ("title", "heading"):
            # Row heights are set, not left to the spreadsheet program: not every program grows a
            # row to fit wrapped text (LibreOffice printed the paragraphs on top of each other).
            lines = max(1, -(-len(text) // (INSTRUCTIONS_WIDTH + 3)))
            ws.set_row(i, 15 * lines + 3)
        write_text(ws, i, 0, text, fmt[kind] if kind in ("title", "heading") else fmt["wrap"])
    ws.activate()


def _actions(workbook, fmt) -> None:
    ws = workbook.add_worksheet(ACTIONS_SHEET)
    ws.freeze_panes(1, 0)
    ws.set_row(0, 30)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)  # printed one page wide, the header row on every page
    ws.repeat_rows(0)
    for col, (header, field_name, width, note, title, message) in enumerate(COLUMNS):
        is_id = field_name in ID_FIELDS or field_name == "po_line"
        ws.set_column(col, col, width, fmt["text"] if is_id else None)
        write_text(ws, 0, col, header, fmt["header"])
        ws.write_comment(0, col, note, {"x_scale": 2.2, "y_scale": 1.6})
        rule: dict[str, object] = {"validate": "any", "input_title": title[:32], "input_message": message[:255]}
        if field_name == "action":
            rule = {"validate": "list", "source": ACTION_CHOICES, "input_title": title[:32],
                    "input_message": message[:255], "error_title": "Action",
                    "error_message": "Choose delete, relink or keep from the list."}
        elif field_name == "bib_handling":
            rule = {"validate": "list", "source": BIB_HANDLING_CHOICES, "input_title": title[:32],
                    "input_message": message[:255], "error_title": "Bib handling",
                    "error_message": "Choose delete, suppress or keep from the list, or leave the cell empty."}
        ws.data_validation(1, col, LAST_ROW, col, rule)


def _settings(workbook, fmt) -> None:
    ws = workbook.add_worksheet(SETTINGS_SHEET)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 40, fmt["text"])
    ws.set_column(2, 2, 80, fmt["wrap"])
    for col, header in enumerate(("Setting", "Value", "What it means")):
        write_text(ws, 0, col, header, fmt["header"])
    write_text(ws, 1, 0, "Mode")
    write_text(ws, 1, 1, "Preview", fmt["value"])
    write_text(ws, 1, 2, "Preview: nothing changes in Alma; the results say what would happen. "
                         "Apply: the processor makes the changes. Start with Preview. Suggest: the processor fills in "
                         "the Action for you to check, and changes nothing in Alma.", fmt["wrap"])
    ws.data_validation(1, 1, 1, 1, {
        "validate": "list", "source": MODE_CHOICES, "input_title": "Preview, Apply or Suggest",
        "input_message": "Preview changes nothing in Alma. Apply makes the changes. Suggest fills in the actions.",
        "error_title": "Mode", "error_message": "Choose Preview, Apply or Suggest from the list.",
    })
    write_text(ws, 2, 0, "Email results to")
    write_text(ws, 2, 1, "", fmt["value"])
    write_text(ws, 2, 2, "Who gets the results workbook by email: one or more addresses, separated by commas "
                         "(for example name@library.edu, other@library.edu).", fmt["wrap"])
    ws.data_validation(2, 1, 2, 1, {
        "validate": "any", "input_title": "Email addresses",
        "input_message": "One or more addresses separated by commas, e.g. name@library.edu",
    })
    write_text(ws, 3, 0, "Collections")
    write_text(ws, 3, 1, "", fmt["value"])
    write_text(ws, 3, 2, "For Suggest: the Community Zone e-collections you are cleaning up, by collection ID or by "
                         "public name exactly as Alma shows it, separated by ; (for example Alexander Street Press "
                         "American History in Video).", fmt["wrap"])


__all__ = ["ACTIONS_SHEET", "COLUMNS", "SETTINGS_SHEET", "TEMPLATE_NAME", "write_template"]
