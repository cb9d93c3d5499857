"""One ``requests.Session`` that speaks Alma: auth, JSON, the error envelope, thresholds, retries.

The client knows HTTP and Alma's conventions and nothing about spreadsheets.

>>> client = AlmaClient("https://api-na.hosted.exlibrisgroup.com", "l8xx...")   # doctest: +SKIP
>>> bib = client.get_bib("99553996612205899")                                   # doctest: +SKIP
>>> client = AlmaClient.from_settings(settings, read_only=True)   # the processor's way   # doctest: +SKIP

Behaviour worth knowing:

* Every call (reads included) waits its turn at one :class:`RateLimiter` shared by all
  threads, and is counted at the moment its request is written (:mod:`p2e.alma.sending`), so
  a worker pool never has more than ``rate_limit`` calls arrive at Alma in any second.
* 429 ``PER_SECOND_THRESHOLD``, 5xx, time-outs and dropped connections are retried with
  exponential back-off and jitter, honouring ``Retry-After``.
* A write whose answer was lost (time-out, dropped connection, 5xx) is never blindly sent
  again: the caller's ``verify`` read decides whether it already happened.
* 429 ``DAILY_THRESHOLD`` is not retried: it raises :class:`DailyThresholdReached`.
* A client made with ``read_only=True`` refuses every non-GET before it leaves the process.
* An HTTP 200 whose body is an error envelope (``errorsExist: true``) is treated as an error.
"""
from __future__ import annotations

import json
import random
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable

import requests

if TYPE_CHECKING:  # the settings are only read here, never imported at run time: this package knows HTTP only
    from ..config import Settings

from .collections import ElectronicCalls
from .errors import (
    AlmaAuthError,
    AlmaError,
    AlmaUnavailable,
    DailyThresholdReached,
    ThresholdError,
    WriteNotAllowed,
    parse_error_body,
)
from .limiter import CallStats, RateLimiter, limiter_for
from .sending import LimitedAdapter

API = "/almaws/v1"
MAX_MMS_IDS_PER_CALL = 100  # GET /bibs?mms_id= takes at most 100 IDs


class AlmaClient(ElectronicCalls):
    """Alma's REST API over one pooled HTTP session (e-collection calls: :mod:`p2e.alma.collections`)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        rate_limit: float | str | None = 25.0,
        rate_max: float = 50.0,
        timeout: float = 30.0,
        max_retries: int = 6,
        read_only: bool = False,
        audit: Callable[[dict], None] | None = None,
        pool_size: int = 16,
        backoff_base: float = 0.25,
        backoff_cap: float = 30.0,
        limiter: RateLimiter | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.read_only = read_only
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.audit = audit
        self.limiter = limiter or limiter_for(rate_limit, rate_max)  # rate_limit "auto": found while it runs
        self.stats = CallStats()
        self._local = threading.local()
        self.session = requests.Session()
        # each call is counted by the limiter at the moment its request is written (p2e.alma.sending)
        adapter = LimitedAdapter(self.limiter, pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Authorization": f"apikey {api_key}", "Accept": "application/json"})
        self._secret = api_key

    @classmethod
    def from_settings(cls, settings: "Settings", **options: Any) -> "AlmaClient":
        """The client for the configured Alma: its address, key, rate limit, time-out and retries.

        ``options`` (``read_only``, ``audit``, ``pool_size``, ...) are passed on. Stops with a
        :class:`~p2e.config.ConfigError` when the key or the address is missing.
        """
        settings.require_alma()
        base_url, api_key = settings.base_url, settings.alma_api_key
        assert base_url and api_key  # require_alma() stopped otherwise
        return cls(base_url, api_key, rate_limit=settings.rate_limit, rate_max=settings.rate_max, timeout=settings.http_timeout,
                   max_retries=settings.max_retries, **options)

    # -- context --------------------------------------------------------------------------
    def for_row(self, row_number: int | None) -> "_RowContext":
        """``with client.for_row(12):`` tags the calls made inside with the Excel row number."""
        return _RowContext(self._local, row_number)

    def close(self) -> None:
        self.session.close()

    # -- transport ------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        xml_body: str | None = None,
        verify: Callable[[], bool] | None = None,
    ) -> Any:
        """Send one call; return the decoded JSON (None for 204). Raise an :class:`AlmaError`.

        For writes, ``verify`` is a read that returns True when the write has already
        happened; it is consulted after a lost answer instead of sending the write again.
        """
        method = method.upper()
        write = method != "GET"
        if write and self.read_only:
            raise WriteNotAllowed(f"Preview mode: {method} {path} was not sent.", method=method, path=path)
        url = f"{self.base_url}{API}{path}"
        headers = {}
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif xml_body is not None:
            data = xml_body.encode("utf-8")
            headers["Content-Type"] = "application/xml"
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            self.stats.count(method)
            self.stats.note(in_flight=1)
            started = time.monotonic()
            try:
                response = self.session.request(method, url, params=params, data=data, headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                self.stats.note(in_flight=-1)
                kind = "time-out" if isinstance(exc, requests.Timeout) else "dropped connection"
                if not isinstance(exc, requests.Timeout) and could_not_connect(exc):
                    kind = "could not connect"
                self._audit(method, path, params, None, "", "", started, attempt, note=kind)
                failure = AlmaUnavailable(
                    f"No answer from Alma ({kind}) after {attempt} attempt{'s' if attempt > 1 else ''}.",
                    method=method, path=path)
                if write and verify is not None and self._settled(verify, failure):
                    return None
                if attempt > self.max_retries:
                    raise failure from None
                self._back_off(attempt, None)
                continue
            status = response.status_code
            remaining = response.headers.get("X-Exl-Api-Remaining")
            if remaining and remaining.strip().isdigit():
                self.stats.set_remaining(int(remaining))
            self.stats.note(in_flight=-1)  # after remaining: the call is counted in one or the other
            parsed = parse_error_body(response.text) if status >= 400 or _looks_like_error(response) else None
            code, message, tracking = parsed if parsed else ("", "", "")
            self._audit(method, path, params, status, code, tracking, started, attempt)
            if status < 300 and not parsed:
                return _decode(response)
            if status == 429 or code in ("PER_SECOND_THRESHOLD", "DAILY_THRESHOLD"):
                if code == "DAILY_THRESHOLD":
                    raise DailyThresholdReached(message or "Alma's daily API allowance is used up.", status=status,
                                                code=code, tracking_id=tracking, method=method, path=path)
                self.stats.note(throttled=1)
                self.limiter.throttled()  # with ALMA_RATE_LIMIT=auto, the rate comes down
                if attempt > self.max_retries:
                    raise ThresholdError(message or "Too many requests per second.", status=status, code=code or "429",
                                         tracking_id=tracking, method=method, path=path)
                self._back_off(attempt, response.headers.get("Retry-After"), hold_all=True)
                continue
            if status >= 500:
                failure = AlmaUnavailable(message or f"Alma answered HTTP {status} (a server error).", status=status,
                                          code=code, tracking_id=tracking, method=method, path=path)
                if write and verify is not None and self._settled(verify, failure):
                    return None
                if attempt > self.max_retries:
                    raise failure
                self._back_off(attempt, response.headers.get("Retry-After"))
                continue
            if code == "UNAUTHORIZED" or status in (401, 403):
                raise AlmaAuthError(message or f"Alma refused the API key (HTTP {status}).", status=status,
                                    code=code or f"HTTP {status}", tracking_id=tracking, method=method, path=path)
            raise AlmaError(message or f"Alma answered HTTP {status}.", status=status, code=code,
                            tracking_id=tracking, method=method, path=path)

    def _settled(self, verify: Callable[[], bool], failure: AlmaError) -> bool:
        """Ask the caller's read whether a write whose answer was lost took effect.

        True: it did. False: it did not (the write may be sent again). When the read fails too,
        nobody can tell, so the write is not sent again blindly: ``failure`` is raised, and the
        journal's 'started' record has the same read settle it when the run resumes.
        """
        try:
            return bool(verify())
        except AlmaError:
            raise failure from None

    def _back_off(self, attempt: int, retry_after: str | None, hold_all: bool = False) -> None:
        self.stats.note(retries=1)
        delay = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        delay = random.uniform(delay / 2, delay)  # jitter: workers do not retry in lock-step
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        if hold_all:
            self.limiter.hold(delay)
        time.sleep(delay)

    def _audit(self, method, path, params, status, code, tracking, started, attempt, note: str = "") -> None:
        if self.audit is None:
            return
        query = {k: v for k, v in (params or {}).items() if k.lower() != "apikey"}
        record = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "method": method,
            "path": API + path,
            "query": query,
            "status": status,
            "alma_error": code or None,
            "tracking_id": tracking or None,
            "row": getattr(self._local, "row", None),
            "attempt": attempt,
            "ms": round((time.monotonic() - started) * 1000, 1),
        }
        if note:
            record["note"] = note
        self.audit(record)

    # -- bibs -----------------------------------------------------------------------------
    def get_bibs(self, mms_ids: Iterable[str], *, view: str = "full", expand: str | None = None) -> dict[str, dict]:
        """Many bibs in as few calls as Alma allows (100 per call). Missing IDs are simply absent."""
        ids = list(dict.fromkeys(mms_ids))
        found: dict[str, dict] = {}
        for start in range(0, len(ids), MAX_MMS_IDS_PER_CALL):
            chunk = ids[start:start + MAX_MMS_IDS_PER_CALL]
            params = {"mms_id": ",".join(chunk), "view": view}
            if expand:
                params["expand"] = expand
            try:
                data = self.request("GET", "/bibs", params=params) or {}
            except AlmaError as exc:
                # Alma refuses the whole list when one ID is malformed or unknown (402203);
                # fall back to one call per ID so one bad row cannot hide the others.
                if exc.code not in ("402203", "402204") or len(chunk) == 1:
                    if exc.not_found or exc.code == "402204":
                        continue
                    raise
                for mms_id in chunk:
                    bib = self.get_bib_or_none(mms_id, view=view, expand=expand)
                    if bib is not None:
                        found[mms_id] = bib
                continue
            for bib in data.get("bib") or []:
                found[str(bib.get("mms_id"))] = bib
        return found

    def get_bib(self, mms_id: str, *, view: str = "full", expand: str | None = None) -> dict:
        params = {"view": view}
        if expand:
            params["expand"] = expand
        return self.request("GET", f"/bibs/{mms_id}", params=params)

    def get_bib_or_none(self, mms_id: str, **kwargs) -> dict | None:
        try:
            return self.get_bib(mms_id, **kwargs)
        except AlmaError as exc:
            if exc.not_found or exc.code == "402204":
                return None
            raise

    def find_bibs_by_other_system_id(self, other_system_id: str) -> list[dict]:
        data = self.request("GET", "/bibs", params={"other_system_id": other_system_id, "view": "brief"}) or {}
        return list(data.get("bib") or [])

    def create_bib(self, bib_xml: str) -> dict:
        """POST /bibs with a ``<bib>`` XML body (Alma takes XML only here); returns the new bib."""
        return self.request("POST", "/bibs", xml_body=bib_xml)

    def unlink_from_nz(self, mms_id: str) -> dict:
        return self.request("POST", f"/bibs/{mms_id}", params={"op": "unlink_from_nz"}, xml_body="<bib/>")

    # -- portfolios -----------------------------------------------------------------------
    def list_portfolios(self, mms_id: str) -> list[dict]:
        portfolios: list[dict] = []
        offset = 0
        while True:
            data = self.request("GET", f"/bibs/{mms_id}/portfolios", params={"limit": 100, "offset": offset}) or {}
            page = data.get("portfolio") or []
            portfolios.extend(page)
            total = int(data.get("total_record_count") or 0)
            offset += len(page)
            if not page or offset >= total:
                return portfolios

    def get_portfolio(self, mms_id: str, portfolio_id: str) -> dict:
        return self.request("GET", f"/bibs/{mms_id}/portfolios/{portfolio_id}")

    def get_portfolio_or_none(self, mms_id: str, portfolio_id: str) -> dict | None:
        try:
            return self.get_portfolio(mms_id, portfolio_id)
        except AlmaError as exc:
            if exc.not_found:
                return None
            raise

    def create_portfolio(self, mms_id: str, portfolio: dict) -> dict:
        return self.request("POST", f"/bibs/{mms_id}/portfolios/", json_body=portfolio)

    def update_portfolio(self, mms_id: str, portfolio_id: str, portfolio: dict,
                         verify: Callable[[], bool] | None = None) -> dict | None:
        return self.request("PUT", f"/bibs/{mms_id}/portfolios/{portfolio_id}", json_body=portfolio, verify=verify)

    def delete_portfolio(self, mms_id: str, portfolio_id: str, bib: str) -> None:
        """DELETE with an explicit ``bib=retain|suppress|delete`` (the spec contradicts itself on the default).

        A lost answer is settled by reading the portfolio back: gone means the delete happened.
        """
        if bib not in ("retain", "suppress", "delete"):
            raise ValueError(f"bib must be retain, suppress or delete, not {bib!r}")
        self.request("DELETE", f"/bibs/{mms_id}/portfolios/{portfolio_id}", params={"bib": bib},
                     verify=lambda: self.get_portfolio_or_none(mms_id, portfolio_id) is None)

    # -- PO lines -------------------------------------------------------------------------
    def get_po_line(self, number: str) -> dict:
        return self.request("GET", f"/acq/po-lines/{number}")

    def search_po_lines(self, mms_id: str, status: str = "ALL_WITH_CLOSED") -> list[dict]:
        data = self.request("GET", "/acq/po-lines", params={"q": f"mms_id~{mms_id}", "status": status, "limit": 100}) or {}
        return list(data.get("po_line") or [])

    def update_po_line(self, number: str, po_line: dict, verify: Callable[[], bool] | None = None) -> dict | None:
        return self.request("PUT", f"/acq/po-lines/{number}", json_body=po_line, verify=verify)

    # -- electronic -----------------------------------------------------------------------
    def get_e_collection(self, collection_id: str) -> dict:
        return self.request("GET", f"/electronic/e-collections/{collection_id}")


class _RowContext:
    def __init__(self, local: threading.local, row: int | None):
        self.local, self.row = local, row

    def __enter__(self):
        self.previous = getattr(self.local, "row", None)
        self.local.row = self.row
        return self

    def __exit__(self, *exc):
        self.local.row = self.previous
        return False


def could_not_connect(exc: BaseException) -> bool:
    """The connection was never made (refused, no route, name unknown), as opposed to dropped mid-call."""
    text = repr(exc)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError",
                                   "Name or service not known", "getaddrinfo failed", "No route to host"))


def _looks_like_error(response: requests.Response) -> bool:
    """A 200 can still carry ``errorsExist: true`` (seen by almapipo); look before trusting it."""
    if response.status_code == 204 or not response.content:
        return False
    head = response.content[:200]
    return b"errorsExist" in head or b"web_service_result" in head


def _decode(response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
