"""The start-up check of openpyxl, defusedxml and xlrd: an incompatible library stops run/validate/watch with
a message naming it, instead of every staff file being refused as unreadable."""
from __future__ import annotations

import pytest

from p2e import cli
from p2e.intake import LibraryProblem, cells, check_libraries
from .conftest import good_workbook


def test_the_installed_libraries_pass():
    check_libraries()


def broken_from_excel(*args, **kwargs):
    raise TypeError("from_excel() got an unexpected keyword argument 'timedelta'")


def test_a_library_that_no_longer_works_is_named(monkeypatch):
    monkeypatch.setattr(cells, "from_excel", broken_from_excel)
    with pytest.raises(LibraryProblem) as info:
        check_libraries()
    assert info.value.library == "openpyxl"
    message = str(info.value)
    assert message.startswith("The workbook reader does not work with the installed openpyxl 3.")
    assert "requirements.txt" in message and "Staff files are not at fault." in message


def test_validate_stops_before_reading_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cells, "from_excel", broken_from_excel)
    path = good_workbook(tmp_path / "p2e.xlsx")
    config = tmp_path / "config.env"
    config.write_text(f"INBOX_DIR={tmp_path}\nOUTBOX_DIR={tmp_path / 'out'}\nSTATE_DIR={tmp_path / 'state'}\n")
    assert cli.main(["validate", str(path), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Cannot start: The workbook reader does not work with the installed openpyxl")
    assert "p2e.xlsx" not in err


def test_an_xlrd_without_a_name_the_xls_reader_uses_is_named(monkeypatch):
    import xlrd

    monkeypatch.delattr(xlrd, "open_workbook")
    with pytest.raises(LibraryProblem) as info:
        check_libraries()
    assert info.value.library == "xlrd" and "xlrd.open_workbook" in str(info.value)
    assert str(info.value).startswith("The workbook reader does not work with the installed xlrd 2.")
