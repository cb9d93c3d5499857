"""Alma and Voyager identifiers as text: cleaning, checking and deriving them.

An ID travels from the cell to the request as text and never through ``float``: Excel
keeps only 15 significant digits of a number, and MMS IDs and portfolio IDs have 16 to
19, so a number that cannot hold the ID exactly is refused with a message that says
what happened and how to fix it. Harmless noise (spaces, non-breaking spaces, a leading
apostrophe, a trailing ``.0``) is cleaned silently.

>>> clean_id(" 9917042712205899\\u00a0", "mms_id")
('9917042712205899', None)
>>> clean_id(5539966, "voyager_bib_id")
('5539966', None)
>>> clean_id("'53212785660002561", "portfolio_id")
('53212785660002561', None)
>>> clean_id(9.91704271220589e+15, "mms_id")[1]
'Excel rounded this MMS ID (it now reads 9917042712205890): format the column as Text and paste the IDs again. Excel keeps only 15 digits of a number, so the last digits of the ID were lost.'
>>> mms_id_from_bib_id("170427", "12205899")
'9917042712205899'
>>> institution_suffix("9917042712205899")
'5899'
"""
from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal

from .model import FIELD_LABELS, ID_FIELDS, shorten

# The most digits a number in Excel keeps exactly (Microsoft KB 269370).
EXCEL_DIGITS = 15

# Alma's IDs have 16 to 19 digits (a Voyager bib ID fewer): many more is not an ID at all.
MAX_ID_DIGITS = 24

MMS_PREFIX = "99"        # bib MMS IDs
PORTFOLIO_PREFIX = "53"  # electronic portfolio IDs

EXAMPLES = {
    "mms_id": "9917042712205899",
    "target_mms_id": "9917042712205899",
    "portfolio_id": "53212785660002561",
    "target_portfolio_id": "53212785660002561",
    "voyager_bib_id": "5539966",
}

EXCEL_ERRORS = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)

# Characters that are noise around or inside an ID copied from a screen or a web page.
_INVISIBLE = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u200b\u200c\u200d\u2060\ufeff\t\r\n\v\f "), None)
_APOSTROPHES = "'\u2018\u2019`"
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+$")
_TRAILING_ZERO_DECIMAL = re.compile(r"^(\d+)\.0+$")
_DECIMAL = re.compile(r"^\d*[.,]\d+$")


def label(kind: str) -> str:
    """The column name staff see for an ID field: 'mms_id' -> 'MMS ID'."""
    return FIELD_LABELS.get(kind, kind)


def display(value: object) -> str:
    """A cell value as a person would recognise it, for messages and the results workbook.

    >>> display(9.91234e16)
    '99123400000000000'
    >>> display(_dt.datetime(2021, 3, 4))
    '2021-03-04'
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e22:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return str(value)
    return str(value).strip()


def _rounded(kind: str, shown: str) -> str:
    return (
        f"Excel rounded this {label(kind)} (it now reads {shown}): format the column as Text and paste the IDs again. "
        f"Excel keeps only {EXCEL_DIGITS} digits of a number, so the last digits of the ID were lost."
    )


def _check_number(number: int, kind: str) -> tuple[str | None, str | None]:
    if number < 0:
        return None, f"This {label(kind)} ({shorten(number)}) is a negative number, not an ID: type the ID from Alma, for example {EXAMPLES.get(kind, '')}."
    digits = str(number)
    if len(digits) > EXCEL_DIGITS:
        return None, _rounded(kind, shorten(digits))
    return _check_text(digits, kind)


def clean_id(value: object, kind: str) -> tuple[str | None, str | None]:
    """Clean one ID cell: ``(text, None)`` when it is good, ``(None, message)`` when it is not.

    ``kind`` is one of :data:`p2e.model.ID_FIELDS` ('mms_id', 'portfolio_id',
    'voyager_bib_id', 'target_mms_id', 'target_portfolio_id'). An empty cell gives
    ``(None, None)``. ``value`` is what the workbook reader (or the CSV reader) gives: ``str``,
    ``int``, ``float``, ``datetime``/``date``/``time``, ``bool`` or ``None``.
    """
    if kind not in ID_FIELDS:
        raise ValueError(f"unknown ID kind {kind!r}; expected one of {', '.join(ID_FIELDS)}")
    if value is None:
        return None, None
    if value.__class__ is str and value.isdigit() and value.isascii():  # the usual case: an ID stored as text
        return _check_shape(value, value, kind)
    name = label(kind)
    if isinstance(value, bool):
        return None, f"This {name} cell holds {shorten(display(value))}, not an ID: type the ID in the cell."
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        return None, (
            f"Excel turned this {name} into a date or time ({shorten(display(value))}): "
            "format the column as Text and type or paste the ID again."
        )
    if isinstance(value, int):
        return _check_number(value, kind)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None, f"This {name} cell does not hold a number Excel can show: type the ID in the cell."
        if not value.is_integer():
            return None, (
                f"This {name} ({shorten(display(value))}) has a decimal part, but IDs are whole numbers: "
                "format the column as Text and type or paste the ID again."
            )
        if abs(value) >= 10 ** EXCEL_DIGITS:
            return None, _rounded(kind, shorten(display(value)))
        return _check_number(int(value), kind)
    if isinstance(value, Decimal):
        return clean_id(str(value), kind)
    return _check_text(str(value), kind)


def _strip(text: str) -> str:
    text = text.translate(_INVISIBLE)
    while text and text[0] in _APOSTROPHES:
        text = text[1:].translate(_INVISIBLE)
    return text


def _check_text(raw: str, kind: str) -> tuple[str | None, str | None]:
    if raw.isdigit() and raw.isascii():  # the usual case: plain digits, nothing to clean
        return _check_shape(raw, raw, kind)
    name = label(kind)
    text = _strip(raw)
    if not text:
        return None, None
    if text.upper() in EXCEL_ERRORS:
        return None, (
            f"This {name} cell shows the Excel error {text.upper()} instead of an ID: "
            "put the ID itself in the cell (copy the column and use Paste Special > Values)."
        )
    if _SCIENTIFIC.match(text):
        return None, (
            f"This {name} is in scientific notation ({shorten(raw)}), so its last digits are lost: "
            "format the column as Text and paste the IDs again."
        )
    match = _TRAILING_ZERO_DECIMAL.match(text)
    if match:
        text = match.group(1)
    if _DECIMAL.match(text):
        return None, (
            f"This {name} ({shorten(raw)}) has a decimal part, but IDs are whole numbers: "
            "format the column as Text and type or paste the ID again."
        )
    if not text.isascii() or not text.isdigit():
        return None, f"This {name} ('{shorten(raw)}') is not an ID: IDs are digits only, for example {EXAMPLES[kind]}."
    return _check_shape(text, raw, kind)


_PREFIXES = {"mms_id": MMS_PREFIX, "target_mms_id": MMS_PREFIX,
             "portfolio_id": PORTFOLIO_PREFIX, "target_portfolio_id": PORTFOLIO_PREFIX}


def _check_shape(text: str, raw: str, kind: str) -> tuple[str | None, str | None]:
    """``text`` is digits: does it look like the kind of ID its column holds?"""
    if len(text) <= MAX_ID_DIGITS:  # the usual case, said in a few steps (the rules below give the same)
        prefix = _PREFIXES.get(kind)
        if prefix is not None:
            if text.startswith(prefix):
                return text, None
        elif len(text) < 15 or not text.startswith(MMS_PREFIX):
            return text, None
    name = label(kind)
    if len(text) > MAX_ID_DIGITS:
        return None, (f"This {name} ({shorten(text)}) has {len(text):,} digits, far too many for an ID: "
                      f"type the ID from Alma, for example {EXAMPLES[kind]}.")
    if kind in ("mms_id", "target_mms_id") and not text.startswith(MMS_PREFIX):
        hint = f" It looks like a portfolio ID: put it in the {'Target ' if kind.startswith('target') else ''}Portfolio ID column." if text.startswith(PORTFOLIO_PREFIX) else ""
        return None, f"This {name} ({shorten(text)}) does not look like a bib MMS ID: bib MMS IDs start with 99, for example {EXAMPLES[kind]}.{hint}"
    if kind in ("portfolio_id", "target_portfolio_id") and not text.startswith(PORTFOLIO_PREFIX):
        hint = f" It looks like an MMS ID: put it in the {'Target ' if kind.startswith('target') else ''}MMS ID column." if text.startswith(MMS_PREFIX) else ""
        return None, f"This {name} ({shorten(text)}) does not look like a portfolio ID: portfolio IDs start with 53, for example {EXAMPLES[kind]}.{hint}"
    if kind == "voyager_bib_id" and len(text) >= 15 and text.startswith(MMS_PREFIX):
        return None, f"This Voyager Bib ID ({shorten(text)}) looks like an MMS ID: put it in the MMS ID column."
    return text, None


def institution_suffix(id_text: str | None) -> str | None:
    """The institution code an Alma ID ends with (its last 4 digits), or None.

    >>> institution_suffix("53212785660002561")
    '2561'
    >>> institution_suffix(None) is None
    True
    """
    if not id_text or not id_text.isdigit() or len(id_text) < 8:
        return None
    return id_text[-4:]


def mms_id_from_bib_id(bib_id: str, suffix: str) -> str:
    """The MMS ID a migrated Voyager bib got: "99" + bib ID + the institution's suffix.

    Holds for records migrated from Voyager only; the plan stage confirms each one in
    Alma before using it.

    >>> mms_id_from_bib_id(" 5539966 ", "12205899")
    '99553996612205899'
    """
    bib = _strip(str(bib_id))
    match = _TRAILING_ZERO_DECIMAL.match(bib)
    if match:
        bib = match.group(1)
    tail = _strip(str(suffix))
    if not (bib.isascii() and bib.isdigit()):
        raise ValueError(f"a Voyager bib ID is digits only; got {bib_id!r}")
    if not (tail.isascii() and tail.isdigit()):
        raise ValueError(f"an MMS ID suffix is digits only; got {suffix!r}")
    return MMS_PREFIX + bib + tail


def looks_like_mms_id(text: str | None) -> bool:
    return text is not None and text.isdigit() and text.startswith(MMS_PREFIX)


def looks_like_portfolio_id(text: str | None) -> bool:
    return text is not None and text.isdigit() and text.startswith(PORTFOLIO_PREFIX)


__all__ = [
    "EXCEL_DIGITS", "clean_id", "display", "shorten", "institution_suffix", "label",
    "looks_like_mms_id", "looks_like_portfolio_id", "mms_id_from_bib_id",
]
