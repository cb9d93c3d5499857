"""The sandbox's e-collections and e-services, and portfolios created inside them, as published.

Mixed into :class:`p2e.sandbox.store.Store` (it uses the store's tables, lock and renderers).
What it models (shared/alma-openapi/electronic.json, rest_electronic_collection.xsd,
rest_electronic_service.xsd, rest_portfolio.xsd):

* a collection is local (``is_local: true``) or linked to the Community Zone (``is_local: false``,
  and only then the ``*_override`` fields appear, as the XSD says); it has zero or more services;
* ``GET /electronic/e-collections`` pages (limit 0-100, offset) and takes the brief search
  ``q=name~...`` (also ``interface_name``, ``keywords``, ``po_line_id``), else 60106;
* ``GET .../e-services`` (all, no paging), ``GET .../e-services/{sid}`` (60121 / 60122);
* ``GET .../e-services/{sid}/portfolios`` pages; each portfolio carries ``resource_metadata/mms_id``;
* ``POST .../e-services/{sid}/portfolios/`` keeps only the fields rest_portfolio.xsd tags ``post``,
  checks their codes (60161, 60166-60172, 402469) and answers the new portfolio; a Community
  Zone collection refuses it (60162, switch ``cz_collection_post``);
* ``POST /electronic/e-collections`` and ``POST .../e-services`` create local ones.
"""
from __future__ import annotations

import copy
import threading
from typing import Any, Callable

# Top-level portfolio fields rest_portfolio.xsd (2020 copy, plus the newer one read in the notes)
# tags ``post``. Anything else in a POST body is not taken (``id``, ``is_local``, invented fields).
PORTFOLIO_POST_FIELDS = (
    "is_standalone", "resource_metadata", "electronic_collection", "availability", "material_type",
    "activation_date", "expected_activation_date", "library", "access_type", "counter_platform",
    "linking_details", "coverage_details", "po_line", "license", "interface", "pda", "additional_po_lines",
    "authentication_note", "public_note", "notes", "group_settings",
    # newer XSD (kb-dk/alma-client, webhook/rest_portfolio.xsd): also get/post/put
    "available_from_date", "available_until_date", "provenance", "public_access_model", "internal_description",
)
LINKING_POST_FIELDS = ("url", "url_type", "url_type_override", "dynamic_url", "dynamic_url_override", "static_url",
                       "static_url_override", "parser_parameters", "parser_parameters_override", "proxy_enabled", "proxy")
# Fields kept in the compact record itself (the sandbox's rules use them); the rest is rendered as sent.
_LOGIC_FIELDS = ("is_standalone", "resource_metadata", "electronic_collection", "availability", "po_line", "material_type")

# The code tables the sandbox knows (an institution's real tables are longer; see docs/sandbox.md).
MATERIAL_TYPES = ("BOOK", "JOURNAL", "DATABASE", "DISSERTATION", "CONFERENCE", "GOVERNMENT_DOCUMENT", "NEWSPAPER",
                  "AUDIO", "VIDEO", "IMAGE", "MAP", "SCORE", "STANDARD", "REPORT", "WEBSITE", "OTHER")
DEFAULT_LIBRARIES = ("MAIN", "LAW", "MUSIC")
DEFAULT_LICENSES = ("LIC-EBOOKS", "LIC-JOURNALS")
DEFAULT_PROXIES = ("EZPROXY",)
URL_TYPES = ("static", "dynamic", "parser")
COVERAGE_IN_USE = ("0", "1", "2")
COLLECTION_TYPES = {"0": "selective package", "1": "aggregator package", "2": "database"}
SERVICE_TYPES = {"getFullTxt": "Full Text", "getSelectedFullTxt": "Selected Full Text"}
SERVICE_STATUS = {"11": "Available", "10": "Not Available"}
AVAILABILITY = {"11": "Available", "10": "Not Available"}
QUERY_FIELDS = ("name", "interface_name", "keywords", "po_line_id")


def _val(field: Any) -> str:
    if isinstance(field, dict):
        v = field.get("value")
        return "" if v is None else str(v)
    return "" if field is None else str(field)


def _error(code: str, message: str) -> Exception:
    from .store import SandboxError  # the store imports this module: resolve at call time
    return SandboxError(code, message)


class CollectionsMixin:
    """E-collections, e-services and service portfolios; state lives in the Store's tables."""

    lock: threading.RLock
    bibs: dict[str, dict]
    portfolios: dict[str, dict]
    po_lines: dict[str, dict]
    e_collections: dict[str, dict]
    e_services: dict[str, dict]
    _services: dict[str, str]
    _service_portfolios: dict[str, list[str]]
    cz_collection_post: str
    code_tables: dict[str, tuple[str, ...]]
    _link: Callable[[str], str]
    _new_id: Callable[[str, Callable[[str], bool]], str]
    render_portfolio: Callable[[dict], dict]
    _add_portfolio: Callable[[dict], None]
    deleted_portfolios: list[str]

    # ------------------------------------------------------------------ seeding
    def _seed_collections(self, seed: dict) -> None:
        self.e_services = {}
        self._service_portfolios = {}
        self.code_tables = {
            "libraries": tuple(seed.get("libraries") or DEFAULT_LIBRARIES),
            "licenses": tuple(seed.get("licenses") or DEFAULT_LICENSES),
            "proxies": tuple(seed.get("proxies") or DEFAULT_PROXIES),
        }
        for c in seed.get("e_collections", ()):
            rec = dict(c)
            cid = str(rec["id"])
            self.e_collections[cid] = rec
            services = list(rec.get("services") or ())
            if rec.get("service_id") and not any(str(s.get("id")) == str(rec["service_id"]) for s in services):
                services.insert(0, {"id": rec["service_id"]})
            for s in services:
                self._add_service(cid, dict(s), local=bool(rec.get("is_local", False)))

    def _add_service(self, cid: str, rec: dict, *, local: bool) -> None:
        sid = str(rec["id"])
        rec["id"] = sid
        rec["collection_id"] = cid
        rec.setdefault("is_local", local)
        self.e_services[sid] = rec
        self._services[sid] = cid
        self._service_portfolios.setdefault(sid, [])

    def _service_ids(self, cid: str) -> list[str]:
        return [sid for sid, rec in self.e_services.items() if rec["collection_id"] == cid]

    def _collection_or_error(self, cid: str, message: str = "Failed to find the Collection ID.") -> dict:
        rec = self.e_collections.get(cid)
        if rec is None:
            raise _error("60121", message)
        return rec

    def _service_or_error(self, cid: str, sid: str, message: str = "Failed to find the Service ID.") -> dict:
        self._collection_or_error(cid)
        if self._services.get(sid) != cid:
            raise _error("60122", message)
        return self.e_services[sid]

    # ------------------------------------------------------------------ rendering
    def render_collection(self, rec: dict) -> dict:
        cid = rec["id"]
        local = bool(rec.get("is_local", False))
        ctype = str(rec.get("type", "0"))
        out: dict[str, Any] = {"id": cid, "is_local": local, "public_name": rec.get("name", "")}
        if not local:
            out["public_name_override"] = ""
        out["description"] = rec.get("description", "")
        if not local:
            out["description_override"] = ""
        out["internal_description"] = rec.get("internal_description", "")
        out["library"] = {"value": rec.get("library", "")}
        out["type"] = {"value": ctype, "desc": COLLECTION_TYPES.get(ctype, ctype)}
        if not local:
            out["type_override"] = {"value": ""}
        out["interface"] = {"name": rec.get("interface", rec.get("name", ""))}
        if not local:
            out["interface_override"] = {"name": ""}
        out["access_type"] = {"value": rec.get("access_type", "current"), "desc": "Current"}
        out["po_line"] = {"value": rec.get("po_line", "")}
        out["activation_date"] = rec.get("activation_date", "2020-06-05Z")
        out["license"] = {"value": rec.get("license", "")}
        count = sum(len(self._service_portfolios.get(s, ())) for s in self._service_ids(cid))
        out["portfolios"] = {"value": count}
        out["link"] = self._link(f"electronic/e-collections/{cid}")
        return out

    def render_service(self, rec: dict) -> dict:
        sid, cid = rec["id"], rec["collection_id"]
        stype = str(rec.get("type", "getFullTxt"))
        status = str(rec.get("activation_status", "11"))
        return {
            "id": sid,
            "is_local": bool(rec.get("is_local", False)),
            "type": {"value": stype, "desc": SERVICE_TYPES.get(stype, stype)},
            "public_description": rec.get("public_description", ""),
            "internal_description": rec.get("internal_description", ""),
            "activation_status": {"value": status, "desc": SERVICE_STATUS.get(status, status)},
            "activate_new_portfolios": bool(rec.get("activate_new_portfolios", False)),
            "parser": rec.get("parser", ""),
            "parser_parameters": rec.get("parser_parameters", ""),
            "portfolios": {"value": len(self._service_portfolios.get(sid, ())),
                           "link": self._link(f"electronic/e-collections/{cid}/e-services/{sid}/portfolios")},
            "link": self._link(f"electronic/e-collections/{cid}/e-services/{sid}"),
        }

    # ------------------------------------------------------------------ reads
    def get_collection(self, cid: str) -> dict:
        with self.lock:
            return self.render_collection(self._collection_or_error(cid, "The collection ID is not valid."))

    def list_collections(self, limit: int, offset: int, q: str = "") -> dict:
        with self.lock:
            ids = sorted(self.e_collections)
            if q:
                field, sep, value = q.partition("~")
                if not sep or field not in QUERY_FIELDS or not value.strip():
                    raise _error("60106", "Invalid query format.")
                words = value.lower().split()
                ids = [c for c in ids if _matches(self.e_collections[c], field, words)]
            page = [self.render_collection(self.e_collections[c]) for c in ids[offset:offset + limit]]
            body: dict = {}
            if page:
                body["electronic_collection"] = page
            body["total_record_count"] = len(ids)
            return body

    def list_services(self, cid: str) -> dict:
        with self.lock:
            self._collection_or_error(cid, "The Collection ID was not found.")
            services = [self.render_service(self.e_services[s]) for s in self._service_ids(cid)]
            body: dict = {}
            if services:
                body["electronic_service"] = services
            body["total_record_count"] = len(services)
            return body

    def get_service(self, cid: str, sid: str) -> dict:
        with self.lock:
            return self.render_service(self._service_or_error(cid, sid, "The Service ID was not found."))

    def list_service_portfolios(self, cid: str, sid: str, limit: int, offset: int) -> dict:
        with self.lock:
            self._service_or_error(cid, sid)
            pids = self._service_portfolios.get(sid, [])
            page = [self.render_portfolio(self.portfolios[p]) for p in pids[offset:offset + limit]]
            body: dict = {}
            if page:
                body["portfolio"] = page
            body["total_record_count"] = len(pids)
            return body

    def get_service_portfolio(self, cid: str, sid: str, pid: str) -> dict:
        with self.lock:
            rec = self.portfolios.get(pid)
            if rec is None or rec.get("service_id") != sid or self._services.get(sid) != cid:
                raise _error("60123", "Failed to find the Portfolio ID.")
            return self.render_portfolio(rec)

    # ------------------------------------------------------------------ writes
    def create_service_portfolio(self, cid: str, sid: str, body: dict) -> dict:
        with self.lock:
            self._service_or_error(cid, sid)
            mms_id = _val((body.get("resource_metadata") or {}).get("mms_id"))
            if not mms_id:
                raise _error("60159", "The MMS ID is required.")
            if mms_id not in self.bibs:
                raise _error("60172", "The title MMS ID is not valid.")
            return self._create_portfolio(mms_id, body, cid, sid)

    def _create_portfolio(self, mms_id: str, body: dict, cid: str, sid: str) -> dict:
        """A new local portfolio for ``mms_id`` from the post-tagged fields of ``body``; standalone when
        ``cid`` is empty. Every code is checked before anything is stored."""
        if cid:
            coll = self.e_collections[cid]
            if not coll.get("is_local", False) and self.cz_collection_post != "accepted":
                raise _error("60162", "Problem retrieving the collection or service information.")
        taken = {k: body[k] for k in PORTFOLIO_POST_FIELDS if k in body}
        ld_in = taken.get("linking_details") or {}
        linking = {k: ld_in[k] for k in LINKING_POST_FIELDS if isinstance(ld_in, dict) and k in ld_in}
        self._check_codes(taken, linking)
        pol = _val(taken.get("po_line"))
        url = linking.get("url") or linking.get("static_url") or ""
        url = url[5:] if isinstance(url, str) and url.startswith("jkey=") else url
        pid = self._new_id("53", lambda c: c in self.portfolios or c in self.deleted_portfolios)
        rec: dict[str, Any] = {"id": pid, "mms_id": mms_id, "is_local": True, "is_standalone": not cid,
                               "collection_id": cid, "service_id": sid, "availability": _val(taken.get("availability")) or "11",
                               "url": url, "po_line": pol, "title": self.bibs[mms_id].get("title")}
        if _val(taken.get("material_type")):
            rec["material_type"] = _val(taken.get("material_type"))
        rendered: dict[str, Any] = {k: copy.deepcopy(v) for k, v in taken.items() if k not in _LOGIC_FIELDS}
        if "linking_details" in rendered:
            rendered["linking_details"] = copy.deepcopy(linking)
        if rendered:
            rec["_put"] = rendered
        self._add_portfolio(rec)
        return self.render_portfolio(rec)

    def _check_codes(self, taken: dict, linking: dict) -> None:
        tables = self.code_tables
        checks = [
            (_val(taken.get("availability")), AVAILABILITY, "60161", "The portfolio availability code is not valid."),
            (_val(taken.get("material_type")), MATERIAL_TYPES, "60171", "The material type is not valid."),
            (_val(taken.get("library")), tables["libraries"], "402469", "The library code is not valid."),
            (_val(taken.get("license")), tables["licenses"], "60169", "The license is not valid."),
            (_val((taken.get("coverage_details") or {}).get("coverage_in_use")), COVERAGE_IN_USE, "60170",
             "The coverage in use is not valid."),
            (_val(linking.get("url_type")), URL_TYPES, "60166", "The URL type is not valid."),
            (_val(linking.get("proxy_enabled")).lower(), ("true", "false"), "60167", "The proxy enable flag is not valid."),
            (_val(linking.get("proxy")), tables["proxies"], "60168", "The proxy code is not valid."),
        ]
        for value, allowed, code, message in checks:
            if value and value not in allowed:
                raise _error(code, message)
        pol = _val(taken.get("po_line"))
        if pol and pol not in self.po_lines:
            raise _error("60172", "The PO line reference is not valid.")

    def create_collection(self, body: dict) -> dict:
        with self.lock:
            name = str(body.get("public_name") or "").strip()
            if not name:
                raise _error("60126", "The name is missing.")
            ctype = _val(body.get("type"))
            if ctype not in COLLECTION_TYPES:
                raise _error("60127", "The type is missing or not valid.")
            library = _val(body.get("library"))
            if library and library not in self.code_tables["libraries"]:
                raise _error("402469", "The library code is not valid.")
            cid = self._new_id("61", lambda c: c in self.e_collections)
            rec = {"id": cid, "name": name, "is_local": True, "type": ctype,
                   "description": str(body.get("description") or ""), "library": library,
                   "internal_description": str(body.get("internal_description") or "")}
            self.e_collections[cid] = rec
            return self.render_collection(rec)

    def create_service(self, cid: str, body: dict) -> dict:
        with self.lock:
            coll = self._collection_or_error(cid, "The Collection ID is not valid.")
            stype = _val(body.get("type"))
            if stype not in SERVICE_TYPES:
                raise _error("60127", "The type is missing or not valid.")
            status = _val(body.get("activation_status"))
            if status not in SERVICE_STATUS:
                raise _error("60138", "The activation status is not valid.")
            if not coll.get("is_local", False):
                raise _error("60149", "The service was not created.")
            sid = self._new_id("62", lambda c: c in self.e_services)
            rec = {"id": sid, "type": stype, "activation_status": status,
                   "public_description": str(body.get("public_description") or ""),
                   "internal_description": str(body.get("internal_description") or "")}
            self._add_service(cid, rec, local=True)
            return self.render_service(rec)


def _matches(rec: dict, field: str, words: list[str]) -> bool:
    if field == "po_line_id":
        return " ".join(words) == str(rec.get("po_line", "")).lower()
    if field == "interface_name":
        text = str(rec.get("interface", rec.get("name", "")))
    elif field == "keywords":
        text = f"{rec.get('name', '')} {rec.get('description', '')}"
    else:
        text = str(rec.get("name", ""))
    text = text.lower()
    return all(w in text for w in words)
