"""Asking Alma whether an address and a key will do, without changing anything.

Alma publishes ``GET`` and ``POST /almaws/v1/{area}/test`` for bibs and acq (the POST tests
write permission and changes nothing) and no test endpoint for electronic, which is probed
with the cheapest real read, ``GET /electronic/e-collections?limit=1``. Each probe returns an
:class:`Answer` instead of raising, so a check can report every area.

>>> institution_code("GET - OK - institutionCode: 01ABC_INST")
'01ABC_INST'
>>> institution_code({"test": "POST - OK"}) is None
True
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
