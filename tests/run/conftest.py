"""Helpers shared by the run stage's tests (the fixtures they use live in tests/conftest.py)."""
from __future__ import annotations

from collections import Counter


def deletes_applied(sb) -> Counter:
    """DELETEs Alma carried out: answered 204, or applied with the answer lost (not refused by the outage)."""
    return Counter(r["path"] for r in sb.requests
                   if r["method"] == "DELETE" and (r["status"] == 204 or r["error_code"] == "DROPPED"))
