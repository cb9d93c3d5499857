"""Safe XML: entity and DTD declarations are refused wherever they are."""
from __future__ import annotations

import pytest
import xlsxwriter

from .conftest import good_workbook, MMS, only_message, rewrite_member


def test_xml_entity_bomb_is_refused_safely(tmp_path):
    """defusedxml stops 'billion laughs' entity expansion; the file gets a plain message."""
    source = good_workbook(tmp_path / "good.xlsx")

    def bomb(data: bytes) -> bytes:
        doctype = (b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                   b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
        end = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
        return data[:end] + doctype + data[end:].replace(b"<v>", b"<v>&c;", 1)

    path = rewrite_member(source, tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml", bomb)
    assert only_message(path) == (
        "The file bomb.xlsx contains XML features the processor refuses to read for safety (entity or document "
        "type declarations), which Excel never writes. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and "
        "put it back in the folder.")


@pytest.mark.parametrize("prolog", [
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
    b'<?xml version="1.0"?><!-- a comment first -->',
])
def test_entity_declarations_in_shared_strings_are_refused(tmp_path, prolog):
    """Shared strings are parsed by intake's fast reader: it must refuse DTDs just like defusedxml."""
    source = tmp_path / "good.xlsx"
    wb = xlsxwriter.Workbook(str(source))  # xlsxwriter stores texts in xl/sharedStrings.xml
    ws = wb.add_worksheet("P2E")
    ws.write_string(0, 0, "MMS ID")
    ws.write_string(0, 1, "Action")
    ws.write_string(1, 0, MMS)
    ws.write_string(1, 1, "delete")
    wb.close()

    def bomb(data: bytes) -> bytes:
        body = data[data.index(b"<sst"):]
        doctype = b'<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        return prolog + doctype + body.replace(b"<t>delete", b"<t>&b;delete", 1)

    path = rewrite_member(source, tmp_path / "bomb.xlsx", "xl/sharedStrings.xml", bomb)
    assert only_message(path).startswith(
        "The file bomb.xlsx contains XML features the processor refuses to read for safety")
