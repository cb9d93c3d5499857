"""A workbook's shared strings (the text its cells point to), read in order and bounded.

Like a sheet (:mod:`p2e.intake.worksheet`), the part is read two ways at once: the strings in the
plain shape Excel writes (``<si><t>text</t></si>``) are matched many at a time
(:mod:`p2e.intake.strict`), and expat's handlers read the rest of the part from the first string
that is not in that shape (rich text, phonetic guides, a comment...). Both give the same strings
(tests/intake/test_shared_strings.py reads each part both ways). A string longer than Excel allows
is kept short, as a :class:`TooLong`, and refused where a cell uses it.

>>> import io
>>> from p2e.intake.limits import TextBudget
>>> part = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>delete</t></si>'
...         b'<si><r><t>re</t></r><r><t>link</t></r></si><si><t xml:space="preserve"> a &amp; b</t></si></sst>')
>>> read_shared_strings(io.BytesIO(part), TextBudget("p2e.xlsx"))
['delete', 'relink', ' a & b']
"""
from __future__ import annotations

import re
import sys
from itertools import chain
from typing import IO, Any, Callable, Iterator

from . import limits
from .expat import chunks_of, feed, safe_parser
from .limits import TextBudget
from .strict import SHARED_STRINGS, TEXT, enter, topped_up, unescape

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "  # expat's "uri local" names
_SST, _SI, _T, _RPH = (_MAIN + name for name in ("sst", "si", "t", "rPh"))

# One string in the plain shape: the whole item (to check the items are all there is), then its text.
_ITEM = re.compile(rf'(<si><t(?: xml:space="preserve")?>({TEXT})</t></si>)')
# Characters XML forbids, and carriage returns (XML turns them into line feeds): a block holding one is
# matched item by item (the regular expression leaves them to expat).
_CONTROL = bytes(range(0x20)).translate(None, b"\t\n")
# The strict reader takes this much of the part at a time.
BLOCK_BYTES = 1 << 20


class TooLong(str):
    """A shared string longer than Excel allows: its start, and ``length``; refused where a cell uses it."""

    length = 0


def _kept(text: str) -> str:
    """A string as the workbook means it: Excel's ``_x005F_`` escape undone, one too long made a :class:`TooLong`."""
    if "x005F_" in text:
        text = text.replace("x005F_", "")
    if len(text) > limits.EXCEL_MAX_CELL_CHARS:
        long_text = TooLong(text[:limits.QUOTE_START])
        long_text.length = len(text)
        return long_text
    return text


def read_shared_strings(src: IO[bytes], budget: TextBudget, strict: bool = True) -> list[str]:
    """The shared strings in order (``strict=False``: all read by expat's handlers)."""
    strings: list[str] = []
    sst_at = [-1]
    parser, long_text = _strings_parser(strings, budget, sst_at)
    chunks: Iterator[bytes] = chunks_of(src)
    fed = 0
    if strict:
        chunks, fed = _strict(parser, chunks, strings, budget, lambda: sst_at[0])
    for _ in feed(parser, chunks, long_text, fed):
        pass
    return strings


def _strict(parser: Any, chunks: Iterator[bytes], strings: list[str], budget: TextBudget,
            seen_at: Callable[[], int]) -> tuple[Iterator[bytes], int]:
    """Expat reads up to ``<sst>``; then the strings in the plain shape are read here, a block at a time, and
    expat is given the rest from the first that is not. Returns the chunks left for expat and the bytes it had."""
    buf, fed, ok = enter(parser, chunks, SHARED_STRINGS, seen_at)
    if not ok:
        return chain([buf], chunks), fed
    more = True
    while True:
        if more and len(buf) < BLOCK_BYTES:
            buf, more = topped_up(buf, chunks, BLOCK_BYTES)
        cut = buf.rfind(b"</si>") + 5  # the end of the last whole item in the block
        read = _block(buf[:cut], strings, budget) if cut > 4 else 0
        buf = buf[read:]
        if read < cut or not read:  # an item not in the plain shape, or none left: expat reads on from here
            return chain([buf], chunks), fed


def _block(block: bytes, strings: list[str], budget: TextBudget) -> int:
    """Read the plain items at the start of ``block`` into ``strings``; how many bytes they took."""
    if b"]]>" in block:  # XML forbids it in text
        return 0
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return 0
    if not block.isascii() and ("\ufffe" in text or "\uffff" in text):  # characters XML forbids
        return 0
    # no control characters (XML forbids most; a carriage return becomes a line feed): a quick look, in bytes
    items = _plain_items(text) if len(block.translate(None, _CONTROL)) == len(block) else None
    if items is not None:
        _take(items, text, strings, budget)
        return len(block)
    found = _ITEM.findall(text)
    if sum([len(whole) for whole, _ in found]) != len(text):  # something else in the block: read the items one by one
        taken, at = [], 0
        for whole, item in found:
            if not text.startswith(whole, at):
                break
            taken.append((whole, item))
            at += len(whole)
        found = taken
        if not found:
            return 0
        text = text[:at]
    items = [item for _, item in found]
    if "&" in text:
        items = [unescape(item) if "&" in item else item for item in items]
    _take(items, text, strings, budget)
    return len(text.encode("utf-8")) if not text.isascii() else len(text)


def _plain_items(text: str) -> list[str] | None:
    """The texts of a block of nothing but ``<si><t>text</t></si>`` items with no entity, found with string
    operations alone (most blocks); None for any other block. (The caller has checked the characters.)

    >>> _plain_items('<si><t>delete</t></si><si><t xml:space="preserve"> a </t></si><si><t></t></si>')
    ['delete', ' a ', '']
    >>> _plain_items('<si><t>a</t></si><si><r><t>b</t></r></si>'), _plain_items('<si><t>a &amp; b</t></si>')
    (None, None)
    """
    if '<t xml:space="preserve">' in text:
        text = text.replace('<t xml:space="preserve">', "<t>")  # the attribute does not change the text
    if "&" in text or not (text.startswith("<si><t>") and text.endswith("</t></si>")):
        return None
    items = text[7:-9].split("</t></si><si><t>")
    if text.count("<") != 4 * len(items):  # a "<" inside an item: another element is there
        return None
    return items


def _take(items: list[str], text: str, strings: list[str], budget: TextBudget) -> None:
    """Keep a block's strings (``text``: the block), counted in the budget."""
    if "x005F_" in text or max(map(len, items)) > limits.EXCEL_MAX_CELL_CHARS:
        items = [_kept(item) for item in items]
    budget.add_size(sum(map(sys.getsizeof, items)) + 8 * len(items))
    strings.extend(items)


def _strings_parser(strings: list[str], budget: TextBudget, sst_at: list[int]) -> tuple[Any, Callable[[], bool]]:
    """An expat parser whose handlers add each ``<si>``'s text to ``strings`` (phonetic guides left out)."""
    append = strings.append
    add_text = budget.add_text
    parts: list[str] = []   # the pieces of the <t> being read
    runs: list[str] = []    # the texts of the <si> being read (one, or one per rich-text run)
    in_si = in_text = in_phonetic = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal in_si, in_text, in_phonetic
        if name == _SI:
            in_si = True
            runs.clear()
        elif name == _T:
            if in_si and not in_phonetic:  # phonetic guides (<rPh>) are left out
                parts.clear()
                in_text = True
        elif name == _RPH:
            in_phonetic = True
        elif name == _SST:
            sst_at[0] = parser.CurrentByteIndex

    def end(name: str) -> None:
        nonlocal in_si, in_text, in_phonetic
        if name == _T:
            if in_text:
                runs.append(parts[0] if len(parts) == 1 else "".join(parts))
                in_text = False
        elif name == _SI:
            in_si = False
            text = _kept(runs[0] if len(runs) == 1 else "".join(runs))
            add_text(text)
            append(text)
        elif name == _RPH:
            in_phonetic = False

    def long_text() -> bool:
        if not in_text:
            parts.clear()  # text between elements (indentation) is never kept
            return False
        return len(parts) > 1 and sum(map(len, parts)) > limits.MAX_XML_RUN_BYTES

    parser = safe_parser({n: n for n in (_SST, _SI, _T, _RPH)})
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = parts.append
    return parser, long_text
