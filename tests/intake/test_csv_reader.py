"""CSV files: encodings, and cells longer than Excel allows."""
from __future__ import annotations

from p2e.intake import read_workbook
from .conftest import MMS, MMS_1, only_message, rejected


def test_csv_in_an_unknown_encoding_is_still_read(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("MMS ID,Action,Title\n9917042712205899,delete,Caf\xe9\n".encode("cp1252"))
    assert read_workbook(path).rows[0].values == [MMS, "delete", "Caf\u00e9"]


def test_binary_junk_named_csv(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"\x00\x01\x02\x03" * 100)
    assert only_message(path) == (
        "The file junk.csv is not a text file the processor can read (it is not in UTF-8 or Windows text "
        "encoding). Open it in Excel and save it as 'Excel Workbook (.xlsx)' or 'CSV UTF-8', and put that file "
        "in the folder.")


def test_csv_cells_longer_than_excel_allows_are_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(f"MMS ID,Action,Note\n{MMS_1},delete,{'n' * 40_000}\n")
    problem = rejected(path).problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("long", 2, "C")
    assert problem.message.startswith("This cell holds 40,000 characters, more than Excel allows in a cell (32,767)")
    path = tmp_path / "huge.csv"
    path.write_text(f"MMS ID,Action,Note\n{MMS_1},delete,{'n' * 200_000}\n")
    assert "more text in one cell than Excel allows" in rejected(path).problems[0].message
