"""One sheet as plain rows, whichever format it came from: :class:`RawRow` and :func:`blank`.

>>> RawRow(3, ["delete", None]).number
3
>>> blank(" \\u00a0"), blank(0)
(True, False)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NO_COLUMNS: frozenset[int] = frozenset()


@dataclass(slots=True)
class RawRow:
    number: int                  # the row number Excel shows
    values: list[Any]            # 0-based by column
    hidden: bool = False
    formula_columns: set[int] | frozenset[int] = NO_COLUMNS  # 0-based columns whose formula has no cached value


def blank(value: Any) -> bool:
    """An empty cell: nothing, or only spaces (including no-break and zero-width ones)."""
    return value is None or (isinstance(value, str) and not value.strip(" \t\r\n\u00a0\u200b\ufeff"))
