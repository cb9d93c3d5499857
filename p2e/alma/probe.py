"""Asking Alma whether an address and a key will do, without changing anything.

Alma publishes ``GET`` and ``POST /almaws/v1/{area}/test`` for bibs and acq (the POST tests
write permission and changes nothing) and no test endpoint for electronic, which is probed
with the cheapest real read, ``GET /electronic/e-collections?limit=1``. Each probe returns an
:class:`Answer` instead of raising, so a check can report every area.

>>> institution_code("GET - OK - institutionCode: 01ABC_INST")
'01ABC_INST'
>>> institution_code({"test": "POST - OK"}) is None
True
>>> record_ids({"electronic_collection": [{"id": "6110000012205899",
...                                         "resource_metadata": {"mms_id": {"value": "9910000012205899"}}}]})
[('e-collection', '6110000012205899'), ('bib', '9910000012205899')]
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from .client import AlmaClient
from .errors import AlmaError

TEST_AREAS = ("bibs", "acq")  # the areas with a published /test endpoint


@dataclass
class Answer:
    """What one probe saw: ok, the time it took, and Alma's refusal if any."""

    ok: bool
    seconds: float
    body: Any = None
    status: int | None = None
    code: str = ""
    message: str = ""
    unreachable: bool = False


def ask(client: AlmaClient, method: str, path: str, params: dict[str, Any] | None = None) -> Answer:
    """Send one call through ``client``; never raises an :class:`AlmaError`."""
    started = time.monotonic()
    try:
        body = client.request(method, path, params=params)
    except AlmaError as exc:
        unreachable = exc.status is None or exc.status >= 500
        return Answer(False, time.monotonic() - started, None, exc.status, exc.code, str(exc), unreachable)
    return Answer(True, time.monotonic() - started, body, 200)


def probe_area(client: AlmaClient, area: str, write: bool = False) -> Answer:
    """``GET`` (read) or ``POST`` (read/write) ``/almaws/v1/{area}/test``; POST changes nothing."""
    if area not in TEST_AREAS:
        raise ValueError(f"Alma publishes no test endpoint for {area}")
    return ask(client, "POST" if write else "GET", f"/{area}/test")


def read_electronic(client: AlmaClient) -> Answer:
    """The Electronic area has no test endpoint: one e-collection is read instead."""
    return ask(client, "GET", "/electronic/e-collections", params={"limit": 1})


def institution_code(body: Any) -> str | None:
    """The institution code in a ``GET .../test`` answer (XML or JSON), or None."""
    match = re.search(r"institutionCode:\s*([A-Za-z0-9_]+)", str(body or ""))
    return match.group(1) if match else None


def record_ids(body: Any) -> list[tuple[str, str]]:
    """(kind, ID) of the records in an e-collection list answer: each collection's ID and its bib's MMS ID.

    Every Alma ID ends in the institution's 4-digit number, so these show which number this
    Alma's IDs end in (``check`` compares ``MMS_ID_SUFFIX`` with it).
    """
    found: list[tuple[str, str]] = []
    for collection in (body.get("electronic_collection") or []) if isinstance(body, dict) else []:
        mms = (collection.get("resource_metadata") or {}).get("mms_id")
        mms = mms.get("value") if isinstance(mms, dict) else mms
        found += [("e-collection", str(collection.get("id") or "")), ("bib", str(mms or ""))]
    return [(kind, value) for kind, value in found if value.isdigit() and len(value) > 6]
