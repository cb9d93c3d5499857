"""Derived file names (p2e/names.py): cleaned of characters the file system or mail refuse, and shortened.

The watcher's end-to-end tests of such names are in tests/watch/test_folders.py.
"""
from __future__ import annotations

from datetime import datetime

import pytest


@pytest.mark.parametrize("stem, tail, suffix, expected", [
    ("UIU P2E clean-up", " - results 2026-11-28 1412", ".xlsx", "UIU P2E clean-up - results 2026-11-28 1412.xlsx"),
    ("UIU\nP2E\r\nclean-up", "", ".xlsx", "UIU P2E clean-up.xlsx"),
    (".hidden", " - rejected 2026-11-28 1412", ".xlsx", "hidden - rejected 2026-11-28 1412.xlsx"),
    ("a/b\\c:d", "", ".csv", "a_b_c_d.csv"),
])
def test_safe_file_name_cleans(stem, tail, suffix, expected):
    from p2e.names import safe_file_name

    assert safe_file_name(stem, tail, suffix) == expected


@pytest.mark.parametrize("stem", ["x" * 300, "é" * 200, "日本語の雑誌" * 40, "a" * 150 + "😀" * 40])
def test_safe_file_name_keeps_the_start_and_the_label_within_the_byte_limit(stem):
    from p2e.names import NAME_BYTES, safe_file_name

    when = datetime(2026, 11, 28, 14, 12)
    name = safe_file_name(stem, f" - processed {when:%Y-%m-%d %H%M}", ".xlsx")
    assert len(name.encode("utf-8")) <= NAME_BYTES <= 240
    assert name.endswith("... - processed 2026-11-28 1412.xlsx")
    assert name.startswith(stem[:20])
    name.encode("utf-8")  # no half character left at the cut
