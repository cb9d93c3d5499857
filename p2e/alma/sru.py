"""Alma's SRU search (title, ISBN, ISSN, OCLC number), through the Alma client's limiter and retries.

    sru = SruClient("https://na01.alma.exlibrisgroup.com/view/sru/01CARLI_UIU", alma_client)
    result = sru.search(cql_any("alma.isbn", ["9781421400839", "1421400839"]))
    for record in result.records:
        record.mms_id, record.subfields("020", "a"), record.availability   # AVE: portfolio, collection, status

SRU takes no API key (none is sent). Each call waits its turn at the client's
:class:`~p2e.alma.limiter.RateLimiter`, is counted in its stats and retried like a REST call
(429 ``PER_SECOND_THRESHOLD``, 5xx, time-outs, dropped connections); ``DAILY_THRESHOLD`` raises
:class:`~p2e.alma.errors.DailyThresholdReached`. An SRU that is off, unreachable or failing
raises :class:`SruUnavailable` saying so plainly; a query Alma cannot run raises
:class:`SruQueryError` with the SRU diagnostic.

>>> cql_any("alma.issn", ["0028-0836", "1476-4687"])
'alma.issn="0028-0836" or alma.issn="1476-4687"'
>>> default_sru_address("http://127.0.0.1:8080", "01CARLI_SANDBOX")
'http://127.0.0.1:8080/view/sru/01CARLI_SANDBOX'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import requests

from .errors import AlmaError, AlmaUnavailable, DailyThresholdReached, ThresholdError, parse_error_body

from .client import could_not_connect

if TYPE_CHECKING:
    from .client import AlmaClient

SRW = "{http://www.loc.gov/zing/srw/}"
DIAG = "{http://www.loc.gov/zing/srw/diagnostic/}"
MARC = "{http://www.loc.gov/MARC21/slim}"
PAGE = 50  # [I] the largest page Alma's SRU is reported to give


class SruUnavailable(AlmaUnavailable):
    """The SRU address did not give an SRU answer: switched off, unreachable or failing."""


class SruQueryError(AlmaError):
    """SRU answered with a diagnostic (a query or parameter it cannot take)."""


@dataclass(frozen=True)
class Availability:
    """One AVE field: a portfolio of the record as the institution publishes it."""

    portfolio_id: str
    collection_id: str
    collection_name: str
    status: str  # "Available" / "Not Available"
    coverage: str = ""
    interface: str = ""
    library: str = ""

    @property
    def available(self) -> bool:
        return self.status.strip().lower() == "available"


@dataclass
class SruRecord:
    """One record: its MMS ID (``recordIdentifier``), its MARC fields and its AVE fields."""

    mms_id: str
    marc: ET.Element
    availability: list[Availability] = field(default_factory=list)

    def subfields(self, tag: str, code: str) -> list[str]:
        """Every ``$code`` of every ``tag`` field, stripped, in record order."""
        out = []
        for df in self.marc.iter(f"{MARC}datafield"):
            if df.get("tag") == tag:
                out += [(sf.text or "").strip() for sf in df.iter(f"{MARC}subfield") if sf.get("code") == code]
        return out

    def controlfield(self, tag: str) -> str:
        for cf in self.marc.iter(f"{MARC}controlfield"):
            if cf.get("tag") == tag:
                return cf.text or ""
        return ""


@dataclass
class SruResult:
    total: int
    records: list[SruRecord]
    next_position: int | None


def cql_any(index: str, values: Iterable[str]) -> str:
    """One CQL query matching any of ``values`` in ``index`` (quoted, OR-ed)."""
    quoted = ['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]
    if not quoted:
        raise ValueError("cql_any needs at least one value")
    return " or ".join(f"{index}={q}" for q in quoted)


def default_sru_address(base_url: str, institution_code: str) -> str:
    """``<scheme>://<host>/view/sru/<INSTITUTION_CODE>`` on the host of ``base_url``.

    [U] Right for the sandbox; for a real Alma the SRU host is the institution's Alma domain,
    which the API gateway address does not tell: set SRU_BASE_URL.
    """
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/view/sru/{institution_code}"


class SruClient:
    """searchRetrieve and explain at one institution's SRU address, paced by an :class:`AlmaClient`."""

    def __init__(self, base_url: str, client: "AlmaClient"):
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.calls = 0

    # -- searching --------------------------------------------------------------------------
    def search(self, query: str, *, start: int = 1, maximum: int = PAGE) -> SruResult:
        """One page: records ``start`` to ``start + maximum - 1`` of what ``query`` (CQL) finds."""
        root = self._get({"version": "1.2", "operation": "searchRetrieve", "query": query,
                          "startRecord": str(start), "maximumRecords": str(maximum), "recordSchema": "marcxml"},
                         expect="searchRetrieveResponse")
        self._raise_diagnostic(root, query)
        records = [_record(r) for r in root.iter(f"{SRW}record") if r.find(f"{SRW}recordData") is not None]
        nxt = root.findtext(f"{SRW}nextRecordPosition")
        return SruResult(int(root.findtext(f"{SRW}numberOfRecords") or 0), records,
                         int(nxt) if nxt and nxt.strip().isdigit() else None)

    def search_all(self, query: str, *, limit: int | None = None) -> list[SruRecord]:
        """Every record ``query`` finds (pages of 50), or the first ``limit``."""
        out: list[SruRecord] = []
        start = 1
        while True:
            page = self.search(query, start=start)
            out += page.records
            if page.next_position is None or not page.records or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            start = page.next_position

    def explain_indexes(self) -> list[str]:
        """The indexes the institution's SRU offers, as ``set.name`` (``alma.isbn``)."""
        root = self._get({"version": "1.2", "operation": "explain"}, expect="explainResponse")
        names = []
        for name in root.iter("{http://explain.z3950.org/dtd/2.0/}name"):
            names.append(f"{name.get('set') or 'alma'}.{(name.text or '').strip()}")
        return names

    # -- transport --------------------------------------------------------------------------
    def _get(self, params: dict[str, str], *, expect: str) -> ET.Element:
        c = self.client
        attempt = 0
        while True:
            attempt += 1
            c.limiter.acquire()
            c.stats.count("GET")
            self.calls += 1
            try:
                response = c.session.get(self.base_url, params=params, timeout=c.timeout,
                                         headers={"Authorization": None, "Accept": "text/xml, application/xml"})
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                kind = "time-out" if isinstance(exc, requests.Timeout) else \
                    "could not connect" if could_not_connect(exc) else "dropped connection"
                if attempt > c.max_retries:
                    raise self._unavailable(f"no answer ({kind}) after {attempt} attempts") from None
                c._back_off(attempt, None)
                continue
            status = response.status_code
            parsed = parse_error_body(response.text) if status >= 400 else None
            code, message = (parsed[0], parsed[1]) if parsed else ("", "")
            if status == 429 or code in ("PER_SECOND_THRESHOLD", "DAILY_THRESHOLD"):
                if code == "DAILY_THRESHOLD":
                    raise DailyThresholdReached(message or "Alma's daily API allowance is used up.", status=status,
                                                code=code, method="GET", path=self.base_url)
                c.stats.note(throttled=1)
                if attempt > c.max_retries:
                    raise ThresholdError(message or "Too many requests per second.", status=status,
                                         code=code or "429", method="GET", path=self.base_url)
                c._back_off(attempt, response.headers.get("Retry-After"), hold_all=True)
                continue
            if status >= 500:
                if attempt > c.max_retries:
                    raise self._unavailable(f"it answered HTTP {status} (a server error) {attempt} times", status)
                c._back_off(attempt, response.headers.get("Retry-After"))
                continue
            root = _sru_root(response.content)
            if status != 200 or root is None or root.tag != f"{SRW}{expect}":
                raise self._unavailable(f"it answered HTTP {status} without an SRU answer", status)
            return root

    def _unavailable(self, why: str, status: int | None = None) -> SruUnavailable:
        return SruUnavailable(f"Alma's SRU search at {self.base_url} cannot be used: {why}. Check that the "
                              "institution's SRU Server integration profile is on and the address is right "
                              "(SRU_BASE_URL).", status=status, code="SRU", method="GET", path=self.base_url)

    def _raise_diagnostic(self, root: ET.Element, query: str) -> None:
        diag = root.find(f"{SRW}diagnostics/{DIAG}diagnostic")
        if diag is None:
            return
        number = (diag.findtext(f"{DIAG}uri") or "").rsplit("/", 1)[-1]
        message = diag.findtext(f"{DIAG}message") or "SRU diagnostic"
        details = diag.findtext(f"{DIAG}details") or ""
        raise SruQueryError(f"Alma's SRU search refused the query {query!r}: {message}" + (f" ({details})" if details else ""),
                            status=200, code=f"SRU-{number}", method="GET", path=self.base_url)


def _sru_root(content: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(content)
    except ET.ParseError:
        return None


def _record(rec: ET.Element) -> SruRecord:
    marc = rec.find(f"{SRW}recordData/{MARC}record")
    if marc is None:
        marc = ET.Element(f"{MARC}record")
    mms = (rec.findtext(f"{SRW}recordIdentifier") or "").strip()
    out = SruRecord(mms_id=mms, marc=marc)
    if not out.mms_id:
        out.mms_id = out.controlfield("001")
    for df in marc.iter(f"{MARC}datafield"):
        if df.get("tag") != "AVE":
            continue
        sub: dict[str, str] = {}
        for sf in df.iter(f"{MARC}subfield"):
            sub.setdefault(sf.get("code") or "", (sf.text or "").strip())
        out.availability.append(Availability(sub.get("8", ""), sub.get("c", ""), sub.get("m", ""), sub.get("e", ""),
                                             sub.get("s", ""), sub.get("t", ""), sub.get("l", "")))
    return out
