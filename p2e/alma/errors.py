"""Alma's refusals as a small, typed hierarchy (in the manner of requests.exceptions).

Alma answers business errors with HTTP 400 and a ``web_service_result`` envelope::

    {"errorsExist": true,
     "errorList": {"error": [{"errorCode": "402203", "errorMessage": "...", "trackingId": "E01-..."}]},
     "result": null}

:func:`parse_error_body` reads that envelope (JSON or XML) and :class:`AlmaError` keeps the
code, message and tracking ID so they reach the results workbook and the audit log.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from xml.etree import ElementTree

# Codes Alma uses for "that record does not exist" (shared/notes/alma-api.md).
NOT_FOUND_CODES = {
    "402203",  # bib: input parameter mmsId is not valid (also for well-formed unknown IDs)
    "60123",  # portfolio: failed to find the portfolio ID (bibs path)
    "60122",  # portfolio/service not found (electronic path)
    "60121",  # e-collection not found
    "401871",  # PO line not found
    "60151",  # bib e-collection not found
}


@dataclass(slots=True)
class AlmaErrorInfo:
    """What Alma said when it refused: kept for the results workbook and the audit log."""

    code: str
    message: str
    tracking_id: str = ""

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        return text + (f" (tracking ID {self.tracking_id})" if self.tracking_id else "")


class AlmaError(Exception):
    """Alma (or the network on the way to it) refused a call."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "", tracking_id: str = "",
                 method: str = "", path: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code
        self.alma_message = message
        self.tracking_id = tracking_id
        self.method = method
        self.path = path

    @property
    def not_found(self) -> bool:
        return self.code in NOT_FOUND_CODES

    @property
    def info(self) -> AlmaErrorInfo:
        return AlmaErrorInfo(self.code or (f"HTTP {self.status}" if self.status else "no answer"),
                             self.alma_message, self.tracking_id)

    def __str__(self) -> str:
        return str(self.info)


class AlmaAuthError(AlmaError):
    """The API key is unknown, lacks permission for this area, or is read-only (UNAUTHORIZED / 403)."""


class ThresholdError(AlmaError):
    """Alma's per-second governance threshold answered 429 and retries ran out."""


class DailyThresholdReached(AlmaError):
    """The institution's daily API allowance is used up (429 DAILY_THRESHOLD), or nearly so."""


class AlmaUnavailable(AlmaError):
    """No usable answer: 5xx, time-out or dropped connection, after every retry."""


def stops_the_run(exc: BaseException) -> bool:
    """True for the errors that are no row's fault and stop every row alike: the daily allowance
    (:class:`DailyThresholdReached`), an outage (:class:`AlmaUnavailable`) and a refused API key
    (:class:`AlmaAuthError`). The engine lets no new row start; the rows left are "Not run"."""
    return isinstance(exc, (DailyThresholdReached, AlmaUnavailable, AlmaAuthError))


class WriteNotAllowed(AlmaError):
    """A write was attempted by a read-only (preview) client. Never reaches Alma."""


def parse_error_body(text: str) -> tuple[str, str, str] | None:
    """(code, message, tracking ID) from an Alma error envelope, JSON or XML; None if not one."""
    text = (text or "").strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or not _truthy(data.get("errorsExist")):
            return None
        errors = ((data.get("errorList") or {}).get("error")) or []
        if isinstance(errors, dict):
            errors = [errors]
        if not errors:
            return ("", "Alma reported an error without details.", "")
        first = errors[0]
        return (str(first.get("errorCode", "")), str(first.get("errorMessage", "")), str(first.get("trackingId", "") or ""))
    if text.startswith("<"):
        try:
            root = ElementTree.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
        except ElementTree.ParseError:
            return None
        if not root.tag.endswith("web_service_result"):
            return None

        def find(tag: str) -> str:
            for el in root.iter():
                if el.tag.endswith(tag):
                    return (el.text or "").strip()
            return ""

        if find("errorsExist").lower() != "true":
            return None
        return (find("errorCode"), find("errorMessage"), find("trackingId"))
    return None


def _truthy(value: object) -> bool:
    return value is True or str(value).lower() == "true"
