"""The client's calls for e-collections, e-services and the portfolios inside a service.

:class:`ElectronicCalls` is mixed into :class:`~p2e.alma.client.AlmaClient`, so every call goes
through its one session, limiter, retries and typed errors::

    for portfolio in client.iter_service_portfolios(collection_id, service_id):   # 100 per call
        portfolio["resource_metadata"]["mms_id"]["value"]
    new = client.create_service_portfolio(collection_id, service_id, mms_id, creatable_fields(old))

:func:`creatable_fields` keeps, of a portfolio read from Alma, what rest_portfolio.xsd lets a
POST set (see docs/alma-behaviour.md for what is published and what is not).

>>> sorted(creatable_fields({"id": "53", "is_local": True, "public_note": "n", "link": "x"}))
['public_note']
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

PAGE = 100  # Alma's largest page for these lists

# Top-level fields rest_portfolio.xsd tags ``post`` (the 2020 copy and the newer one), less the
# three a service POST takes from its URL and its body's mms_id.
PORTFOLIO_CREATE_FIELDS = (
    "availability", "material_type", "activation_date", "expected_activation_date", "library", "access_type",
    "counter_platform", "linking_details", "coverage_details", "po_line", "license", "interface", "pda",
    "additional_po_lines", "authentication_note", "public_note", "notes", "group_settings",
    "available_from_date", "available_until_date", "provenance", "public_access_model", "internal_description",
)
LINKING_CREATE_FIELDS = ("url", "url_type", "url_type_override", "dynamic_url", "dynamic_url_override", "static_url",
                         "static_url_override", "parser_parameters", "parser_parameters_override", "proxy_enabled", "proxy")


def creatable_fields(portfolio: dict) -> dict:
    """The fields of ``portfolio`` (as Alma answers it) that a portfolio POST may set, deep-copied.

    Read-only ones (``id``, ``is_local``, ``link``, ``resource_metadata``, ``electronic_collection``,
    ``is_standalone``) are left out; :meth:`ElectronicCalls.create_service_portfolio` sets the bib
    and the collection and service come from its URL.
    """
    out = {k: copy.deepcopy(portfolio[k]) for k in PORTFOLIO_CREATE_FIELDS if k in portfolio}
    if isinstance(out.get("linking_details"), dict):
        out["linking_details"] = {k: v for k, v in out["linking_details"].items() if k in LINKING_CREATE_FIELDS}
    return out


def _collection_path(collection_id: str) -> str:
    return f"/electronic/e-collections/{collection_id}"


def _service_path(collection_id: str, service_id: str) -> str:
    return f"{_collection_path(collection_id)}/e-services/{service_id}"


class ElectronicCalls:
    """E-collection, e-service and service-portfolio calls (mixed into AlmaClient)."""

    if TYPE_CHECKING:  # provided by AlmaClient
        def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
                    xml_body: str | None = None, verify: Callable[[], bool] | None = None) -> Any: ...

        def list_portfolios(self, mms_id: str) -> list[dict]: ...

    # -- collections ------------------------------------------------------------------------
    def list_collections(self, q: str | None = None) -> list[dict]:
        """Every e-collection (all pages), or those the brief search ``q`` finds (``name~Academic``)."""
        found: list[dict] = []
        offset = 0
        while True:
            params: dict[str, Any] = {"limit": PAGE, "offset": offset}
            if q:
                params["q"] = q
            data = self.request("GET", "/electronic/e-collections", params=params) or {}
            page = list(data.get("electronic_collection") or [])
            found.extend(page)
            offset += len(page)
            if not page or offset >= int(data.get("total_record_count") or 0):
                return found

    def get_collection(self, collection_id: str) -> dict:
        """One e-collection; ``is_local`` False means it is linked to the Community Zone."""
        return self.request("GET", _collection_path(collection_id))

    def create_collection(self, public_name: str, *, type_code: str = "0", description: str = "",
                          extra: dict | None = None) -> dict:
        """POST a new local e-collection (type from the isAggregator table: 0 selective package)."""
        body: dict[str, Any] = {"public_name": public_name, "type": {"value": type_code}, "description": description,
                                **(extra or {})}
        return self.request("POST", "/electronic/e-collections", json_body=body)

    # -- services ---------------------------------------------------------------------------
    def list_services(self, collection_id: str) -> list[dict]:
        """The e-services of a collection (Alma does not page this list)."""
        data = self.request("GET", f"{_collection_path(collection_id)}/e-services") or {}
        return list(data.get("electronic_service") or [])

    def get_service(self, collection_id: str, service_id: str) -> dict:
        return self.request("GET", _service_path(collection_id, service_id))

    def create_service(self, collection_id: str, *, service_type: str = "getFullTxt", activation_status: str = "11",
                       public_description: str = "", extra: dict | None = None) -> dict:
        """POST a new e-service into a local collection (ServiceType getFullTxt, status 11 Available)."""
        body: dict[str, Any] = {"type": {"value": service_type}, "activation_status": {"value": activation_status},
                                "public_description": public_description, **(extra or {})}
        return self.request("POST", f"{_collection_path(collection_id)}/e-services", json_body=body)

    # -- portfolios in a service -----------------------------------------------------------------
    def service_portfolio_page(self, collection_id: str, service_id: str, *, limit: int = PAGE,
                               offset: int = 0) -> tuple[list[dict], int]:
        """One page of a service's portfolios and Alma's ``total_record_count``."""
        data = self.request("GET", f"{_service_path(collection_id, service_id)}/portfolios",
                            params={"limit": limit, "offset": offset}) or {}
        return list(data.get("portfolio") or []), int(data.get("total_record_count") or 0)

    def iter_service_portfolios(self, collection_id: str, service_id: str) -> Iterator[dict]:
        """Every portfolio of a service, 100 per call; each has ``resource_metadata.mms_id``."""
        offset = 0
        while True:
            page, total = self.service_portfolio_page(collection_id, service_id, limit=PAGE, offset=offset)
            yield from page
            offset += len(page)
            if not page or offset >= total:
                return

    def get_service_portfolio(self, collection_id: str, service_id: str, portfolio_id: str) -> dict:
        return self.request("GET", f"{_service_path(collection_id, service_id)}/portfolios/{portfolio_id}")

    def create_service_portfolio(self, collection_id: str, service_id: str, mms_id: str, fields: dict,
                                 *, known_ids: Iterable[str] = ()) -> dict:
        """POST a new portfolio for bib ``mms_id`` into the service; answer the new portfolio.

        ``fields``: what to set (see :func:`creatable_fields`). If the answer is lost (time-out,
        dropped connection, 5xx), the bib's portfolios are read instead of posting again: a
        portfolio in this service whose ID is not in ``known_ids`` (the ones there before) is
        the one just made.
        """
        body = dict(fields)
        body["resource_metadata"] = {"mms_id": {"value": mms_id}}
        before = set(known_ids)
        made: list[dict] = []

        def already_made() -> bool:
            made[:] = [p for p in self.list_portfolios(mms_id)
                       if ((p.get("electronic_collection") or {}).get("service") or {}).get("value") == service_id
                       and p.get("id") not in before]
            return bool(made)

        answer = self.request("POST", f"{_service_path(collection_id, service_id)}/portfolios/", json_body=body,
                              verify=already_made)
        return answer if answer is not None else made[0]
