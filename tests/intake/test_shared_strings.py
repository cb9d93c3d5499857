"""The shared strings read in the plain shape (p2e.intake.strict) are exactly what expat's handlers read.

Each part is read twice, ``strict`` on and off; the two must give the same strings (type included:
a TooLong stays a TooLong) or fail the same way.
"""
from __future__ import annotations

import io

import pytest

from p2e.intake import limits
from p2e.intake.limits import TextBudget
from p2e.intake.messages import FileRejected
from p2e.intake.shared_strings import TooLong, read_shared_strings

from .conftest import NS

DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def part(items: str, declaration: bytes = DECLARATION, before: str = "") -> bytes:
    return declaration + f'{before}<sst xmlns="{NS}" count="9" uniqueCount="9">{items}</sst>'.encode("utf-8")


def reading(data: bytes, strict: bool):
    try:
        strings = read_shared_strings(io.BytesIO(data), TextBudget("p2e.xlsx"), strict=strict)
    except FileRejected as exc:
        return "refused", str(exc)
    except Exception as exc:  # noqa: BLE001 - damaged XML: plain_refusals() words it the same for any of these
        return "refused", type(exc).__name__
    return [(type(s).__name__, s, getattr(s, "length", 0)) for s in strings]


def both_ways(data: bytes):
    strict, expat = reading(data, True), reading(data, False)
    assert strict == expat
    return strict


@pytest.mark.parametrize("items", [
    "<si><t>delete</t></si><si><t>9917042712205899</t></si>",
    '<si><t xml:space="preserve">  spaces  </t></si><si><t></t></si><si><t/></si>',
    '<si><t xml:space="preserve">  spaces  </t></si><si><t></t></si><si><t>a > b</t></si>',
    "<si><t>line\nbreak\ttab</t></si><si><t>cr\r\nlf</t></si>",
    "<si><t>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</t></si><si><t>&#x41;&#66;</t></si>",
    "<si><t>caf\u00e9 \u6f22\u5b57 \U0001f600</t></si>",
    "<si><t>_x005F_x0041_ and x005F_</t></si>",
    # rich text and phonetic guides in the middle: plain before, expat after
    "<si><t>one</t></si><si><r><rPr><b/></rPr><t>bo</t></r><r><t>ld</t></r></si>"
    "<si><t>\u6f22</t><rPh sb=\"0\" eb=\"1\"><t>\u304b\u3093</t></rPh><phoneticPr fontId=\"1\"/></si><si><t>two</t></si>",
    "<si><t>one</t></si><!-- a comment --><si><t>two</t></si>",
    "\n  <si>\n    <t>pretty</t>\n  </si>\n",
    "<si><t>" + "x" * (limits.EXCEL_MAX_CELL_CHARS + 5) + "</t></si><si><t>after</t></si>",
])
def test_parts_read_the_same_either_way(items):
    found = both_ways(part(items))
    assert found and found[0] != "refused"


def test_a_long_string_is_kept_short_both_ways():
    found = both_ways(part("<si><t>" + "x" * (limits.EXCEL_MAX_CELL_CHARS + 5) + "</t></si>"))
    assert found == [("TooLong", "x" * limits.QUOTE_START, limits.EXCEL_MAX_CELL_CHARS + 5)]
    assert TooLong.__name__ == "TooLong"


def test_many_blocks_then_rich_text_read_the_same_either_way():
    plain = "".join(f"<si><t>title number {i} : a study</t></si>" for i in range(60_000))  # about 2.5 MB
    found = both_ways(part(plain + "<si><r><t>ri</t></r><r><t>ch</t></r></si><si><t>last</t></si>"))
    assert len(found) > 60_000 and ("str", "rich", 0) in found


@pytest.mark.parametrize("data", [
    part("<si><t>a ]]> b</t></si>"),                                   # XML forbids "]]>" in text
    part("<si><t>a \ufffe b</t></si>"),                                # and U+FFFE
    part("<si><t>a \x01 b</t></si>"),                                  # and control characters
    part("<si><t>one</t></si>").replace(b"one", b"\xff\xfe"),          # not UTF-8
    part("<si><t>one</t></si>")[:-8],                                  # cut short
    part("<si><t>one</t></si><si><t>two</t>"),                          # an item never closed
])
def test_what_expat_refuses_is_refused_both_ways(data):
    assert both_ways(data)[0] == "refused"


@pytest.mark.parametrize("data", [
    part("<si><t>caf\u00e9</t></si>".encode("latin-1").decode("latin-1"),
         declaration=b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'),   # another encoding: expat's
    part("<si><t>one</t></si>", before='<!-- <sst xmlns="x"><si><t>fake</t></si></sst> -->'),
    part("").replace(b"></sst>", b"/>"),                                 # no strings at all
])
def test_parts_only_expat_can_read_are_left_to_it_and_read_the_same(data):
    both_ways(data)


def test_too_much_text_is_refused_both_ways(monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 50_000)
    found = both_ways(part("".join(f"<si><t>string {i}</t></si>" for i in range(5_000))))
    assert found[0] == "refused" and "holds more text than the processor reads" in found[1]
