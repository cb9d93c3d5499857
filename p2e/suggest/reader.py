"""The only Alma the suggestion step has: reads, and nothing else.

:class:`AlmaReader` wraps the processor's :class:`~p2e.alma.client.AlmaClient` (one session,
the same limiter, retries and typed errors as a run) and exposes read calls only. It sets the
client's ``read_only`` flag, which refuses any non-GET before it leaves the process, and checks
it again before every call, so a suggestion can never write, by construction.

It also keeps Alma's daily allowance: when ``X-Exl-Api-Remaining`` says fewer calls are left
than the reserve (``ALMA_DAILY_RESERVE``), the next read raises :class:`ReserveReached`.

>>> reader = AlmaReader(AlmaClient.from_settings(settings), reserve=5000)   # doctest: +SKIP
>>> reader.bibs(["99553996612205899"])                                       # doctest: +SKIP
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

if TYPE_CHECKING:
    from ..alma.client import AlmaClient

PAGE = 100


class ReserveReached(Exception):
    """Alma's daily allowance is down to the reserve kept for other systems: no more reads today."""


class AlmaReader:
    """Read calls over one client whose writes are refused (``read_only``)."""

    def __init__(self, client: "AlmaClient", *, reserve: int = 0):
        client.read_only = True
        self._client = client
        self.reserve = reserve

    @property
    def calls(self) -> int:
        """Every call sent so far, retries included (the client's count)."""
        return self._client.stats.calls

    @property
    def client(self) -> "AlmaClient":
        return self._client

    def check_reserve(self) -> None:
        """Raise :class:`ReserveReached` when the daily allowance left is at or below the reserve."""
        self._before()

    def _before(self) -> None:
        if not self._client.read_only:  # someone turned the flag off: refuse rather than risk a write
            self._client.read_only = True
        remaining = self._client.stats.remaining
        if remaining is not None and remaining <= self.reserve:
            raise ReserveReached(f"Alma's daily API allowance is down to {remaining:,} calls, the reserve kept for "
                                 f"other systems ({self.reserve:,}).")

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET (the only verb this class sends)."""
        self._before()
        return self._client.request("GET", path, params=params)

    # -- bibs -------------------------------------------------------------------------------
    def bibs(self, mms_ids: Iterable[str], expand: str = "p_avail,e_avail") -> dict[str, dict]:
        """Bibs by MMS ID, 100 per call, with their AVE/AVA inventory fields; missing IDs are absent."""
        ids = list(dict.fromkeys(mms_ids))
        found: dict[str, dict] = {}
        for start in range(0, len(ids), PAGE):
            self._before()
            found.update(self._client.get_bibs(ids[start:start + PAGE], view="full", expand=expand))
        return found

    def bibs_by_other_system_id(self, other_system_id: str) -> list[dict]:
        self._before()
        return self._client.find_bibs_by_other_system_id(other_system_id)

    def portfolio(self, mms_id: str, portfolio_id: str) -> dict | None:
        self._before()
        return self._client.get_portfolio_or_none(mms_id, portfolio_id)

    # -- e-collections ------------------------------------------------------------------------
    def collections(self, q: str | None = None) -> list[dict]:
        self._before()
        return self._client.list_collections(q)

    def collection(self, collection_id: str) -> dict:
        self._before()
        return self._client.get_collection(collection_id)

    def services(self, collection_id: str) -> list[dict]:
        self._before()
        return self._client.list_services(collection_id)

    def service_portfolios(self, collection_id: str, service_id: str) -> Iterator[dict]:
        """Every portfolio of a service, 100 per call."""
        offset = 0
        while True:
            self._before()
            page, total = self._client.service_portfolio_page(collection_id, service_id, limit=PAGE, offset=offset)
            yield from page
            offset += len(page)
            if not page or offset >= total:
                return

    # -- PO lines -----------------------------------------------------------------------------
    def open_po_lines_page(self, offset: int = 0) -> tuple[list[dict], int]:
        """One page of the institution's PO lines that are not closed (``status=ALL``) and the total."""
        data = self.get("/acq/po-lines", {"status": "ALL", "limit": PAGE, "offset": offset}) or {}
        return list(data.get("po_line") or []), int(data.get("total_record_count") or 0)

    def po_lines_of(self, mms_id: str) -> list[dict]:
        """The PO lines of one bib (closed ones included: the caller decides which are open)."""
        data = self.get("/acq/po-lines", {"q": f"mms_id~{mms_id}", "status": "ALL_WITH_CLOSED", "limit": PAGE}) or {}
        return list(data.get("po_line") or [])
