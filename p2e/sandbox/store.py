"""The sandbox's Alma: bibs, portfolios, holdings, PO lines and e-collections in memory.

Records are kept compact (the seed format, see :mod:`p2e.sandbox.seed`) and rendered to the
JSON Alma publishes only when asked, so a 100,000-row library fits in modest memory. Every
business rule the P2E processor depends on lives here, behind one lock, and every refusal is
a :class:`SandboxError` carrying Alma's own error code and message.

>>> s = Store({"bibs": [{"mms_id": "99123412205899", "title": "A title"}]})
>>> s.get_bib("99123412205899")["title"]
'A title'
>>> s.get_bib("banana")
Traceback (most recent call last):
...
p2e.sandbox.store.SandboxError: 402204 Input parameters mmsId banana is not numeric.
"""
from __future__ import annotations

import copy
import itertools
import re
import threading
from typing import Any, Iterable
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from .collections import CollectionsMixin

OPEN_POL_EXCLUDED = ("CLOSED", "CANCELLED")
POL_STATUS_DESC = {
    "ACTIVE": "Active", "CLOSED": "Closed", "CANCELLED": "Cancelled", "SENT": "Sent",
    "READY": "Ready to be sent", "IN_REVIEW": "In Review", "WAITING_FOR_INVOICE": "Waiting for Invoice",
}
POL_TYPE_DESC = {
    "E_BOOK_OT": "Electronic Book - One Time", "E_JOURNAL_CO": "Electronic Journal - Subscription",
    "PRINTED_BOOK_OT": "Print Book - One Time", "ELECTRONIC_COLLECTION_CO": "Electronic Collection - Subscription",
}
AVAILABILITY_DESC = {"11": "Available", "10": "Not Available"}
BIB_HANDLING = ("retain", "suppress", "delete")

# Top-level portfolio fields rest_portfolio.xsd tags ``put`` (the only ones a PUT may change).
PORTFOLIO_PUT_FIELDS = (
    "availability", "material_type", "activation_date", "expected_activation_date", "library",
    "access_type", "counter_platform", "linking_details", "coverage_details", "po_line", "license",
    "interface", "pda", "additional_po_lines", "authentication_note", "public_note", "notes",
    "group_settings", "public_access_model", "internal_description",
)
# Within linking_details, ``url`` is tagged get/post only.
LINKING_NOT_PUT = ("url",)
# Fields "PUT for local portfolios only" (XSD-new): ignored on CZ-linked portfolios.
LOCAL_ONLY_PUT = ("material_type",)
LOCAL_ONLY_LINKING = ("url_type", "dynamic_url", "static_url")


class SandboxError(Exception):
    """A refusal as Alma words it: HTTP status, errorCode (always a string) and errorMessage."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code} {message}")
        self.code = str(code)
        self.message = message
        self.status = status


def _is_open(status: str) -> bool:
    return (status or "").upper() not in OPEN_POL_EXCLUDED


def _x(text: Any) -> str:
    return escape("" if text is None else str(text), {'"': "&quot;"})


class Store(CollectionsMixin):
    """Thread-safe in-memory Alma institution zone."""

    def __init__(self, seed: dict | None = None, *, base_url: str = "http://127.0.0.1",
                 pol_relink: str = "accepted", nz_bib_delete: str = "unlink_and_delete",
                 pol_relink_from_cz: str = "refused", cz_collection_post: str = "refused"):
        self.lock = threading.RLock()
        self.base_url = base_url
        self.pol_relink = pol_relink
        self.nz_bib_delete = nz_bib_delete
        self.pol_relink_from_cz = pol_relink_from_cz
        self.cz_collection_post = cz_collection_post
        seed = seed or {}
        self.suffix = str(seed.get("institution_suffix") or "12205899")
        self.bibs: dict[str, dict] = {}
        self.portfolios: dict[str, dict] = {}
        self.holdings: dict[str, dict] = {}
        self.po_lines: dict[str, dict] = {}
        self.e_collections: dict[str, dict] = {}
        self.deleted_bibs: list[str] = []
        self.deleted_portfolios: list[str] = []
        # indexes
        self._bib_portfolios: dict[str, list[str]] = {}
        self._bib_holdings: dict[str, list[str]] = {}
        self._bib_pols: dict[str, list[str]] = {}
        self._pol_portfolios: dict[str, list[str]] = {}
        self._other_ids: dict[str, list[str]] = {}
        self._linked: dict[str, list[str]] = {}
        self._services: dict[str, str] = {}
        self._counter = itertools.count(1)
        self.bib_version = 0
        # Seed records are shared with the caller's seed (memory: 100,000-row libraries) and
        # copied on first write (_mutable), so a seed can start several sandboxes unchanged.
        self._seed_collections(seed)
        for b in seed.get("bibs", ()):
            self._add_bib(b)
        for h in seed.get("holdings", ()):
            rec = h
            self.holdings[str(rec["id"])] = rec
            self._bib_holdings.setdefault(rec["mms_id"], []).append(str(rec["id"]))
        for pol in seed.get("po_lines", ()):
            rec = pol
            self.po_lines[rec["number"]] = rec
            if rec.get("mms_id"):
                self._bib_pols.setdefault(rec["mms_id"], []).append(rec["number"])
        for p in seed.get("portfolios", ()):
            self._add_portfolio(p)
        self._owned: set[int] = set()

    # ------------------------------------------------------------------ indexes
    def _add_bib(self, rec: dict) -> None:
        self.bib_version += 1  # the SRU index is rebuilt when this changes
        mms = str(rec["mms_id"])
        self.bibs[mms] = rec
        for nn in rec.get("network_numbers") or ():
            self._other_ids.setdefault(nn, []).append(mms)
        link = rec.get("linked_record_id")
        if link and link.get("value"):
            self._linked.setdefault(link["value"], []).append(mms)

    def _drop_bib_index(self, rec: dict) -> None:
        self.bib_version += 1
        mms = rec["mms_id"]
        for nn in rec.get("network_numbers") or ():
            lst = self._other_ids.get(nn)
            if lst and mms in lst:
                lst.remove(mms)
        link = rec.get("linked_record_id")
        if link and link.get("value"):
            lst = self._linked.get(link["value"])
            if lst and mms in lst:
                lst.remove(mms)

    def _add_portfolio(self, rec: dict) -> None:
        pid = str(rec["id"])
        self.portfolios[pid] = rec
        self._bib_portfolios.setdefault(rec["mms_id"], []).append(pid)
        if rec.get("service_id"):
            self._service_portfolios.setdefault(str(rec["service_id"]), []).append(pid)
        if rec.get("po_line"):
            self._pol_portfolios.setdefault(rec["po_line"], []).append(pid)

    def _mutable(self, table: dict, key: str) -> dict:
        """The record ``table[key]``, copied first if it still belongs to the seed."""
        rec = table[key]
        if id(rec) not in self._owned:
            rec = copy.deepcopy(rec)
            table[key] = rec
            self._owned.add(id(rec))
        return rec

    def _new_id(self, prefix: str, exists) -> str:
        while True:
            candidate = f"{prefix}{900000000 + next(self._counter)}{self.suffix}"
            if not exists(candidate):
                return candidate

    # ------------------------------------------------------------------ helpers
    def _link(self, path: str) -> str:
        return f"{self.base_url}/almaws/v1/{path}"

    def _bib_or_error(self, mms_id: str, *, code: str = "402203", numeric_code: str = "402204",
                      message: str | None = None) -> dict:
        if not mms_id.isdigit():
            if numeric_code == "402204":
                raise SandboxError("402204", f"Input parameters mmsId {mms_id} is not numeric.")
            raise SandboxError(numeric_code, message or "The MMS ID is not valid.")
        rec = self.bibs.get(mms_id)
        if rec is None:
            raise SandboxError(code, message or f"Input parameters mmsId {mms_id} is not valid.")
        return rec

    def open_po_lines(self, mms_id: str) -> list[str]:
        return [n for n in self._bib_pols.get(mms_id, ()) if _is_open(self.po_lines[n].get("status", "ACTIVE"))]

    def inventory_of(self, mms_id: str) -> dict:
        return {
            "portfolios": list(self._bib_portfolios.get(mms_id, ())),
            "holdings": list(self._bib_holdings.get(mms_id, ())),
            "open_po_lines": self.open_po_lines(mms_id),
        }

    # ------------------------------------------------------------------ rendering: bibs
    def marc_record(self, rec: dict, expand: str = "") -> str:
        """The bib's MARC ``<record>`` (no XML declaration, no namespace); AVE/AVA per ``expand``."""
        return re.sub(r"^<\?xml[^>]*\?>", "", self._marcxml(rec, expand))

    def _marcxml(self, rec: dict, expand: str = "") -> str:
        if rec.get("marcxml"):
            body = rec["marcxml"]
            body = re.sub(r"^<\?xml[^>]*\?>", "", body).strip()
            if body.endswith("</record>"):
                body = body[: -len("</record>")]
        else:
            body = _compact_marc(rec)
        extra = []
        if "e_avail" in expand:
            for pid in self._bib_portfolios.get(rec["mms_id"], ()):
                p = self.portfolios[pid]
                coll = self.e_collections.get(p.get("collection_id") or "", {})
                put = p.get("_put") or {}
                library = _val(put.get("library")) or p.get("library", "")
                interface = (put.get("interface") or {}).get("name") if isinstance(put.get("interface"), dict) else ""
                interface = interface or p.get("interface") or (coll.get("interface") or coll.get("name", "") if coll else "")
                sub = [("8", pid)]
                if p.get("collection_id"):
                    sub.append(("c", p["collection_id"]))
                sub.append(("e", "Available" if p.get("availability", "11") == "11" else "Not Available"))
                if library:
                    sub.append(("l", library))
                if coll:
                    sub.append(("m", coll.get("name", "")))
                if p.get("coverage"):
                    sub.append(("s", p["coverage"]))
                if interface:
                    sub.append(("t", interface))
                extra.append('<datafield ind1=" " ind2=" " tag="AVE">'
                             + "".join(f'<subfield code="{c}">{_x(v)}</subfield>' for c, v in sub) + "</datafield>")
        if "p_avail" in expand:
            for hid in self._bib_holdings.get(rec["mms_id"], ()):
                h = self.holdings[hid]
                extra.append(
                    '<datafield ind1=" " ind2=" " tag="AVA">'
                    f'<subfield code="0">{_x(rec["mms_id"])}</subfield><subfield code="8">{_x(hid)}</subfield>'
                    f'<subfield code="b">{_x(h.get("library", "MAIN"))}</subfield>'
                    f'<subfield code="j">{_x(h.get("location", "stacks"))}</subfield>'
                    '<subfield code="e">available</subfield></datafield>')
        return '<?xml version="1.0" encoding="UTF-16"?>' + body + "".join(extra) + "</record>"

    def render_bib(self, rec: dict, view: str = "full", expand: str = "") -> dict:
        mms = rec["mms_id"]
        link = rec.get("linked_record_id") or {}
        out = {
            "mms_id": mms,
            "record_format": "marc21",
            "linked_record_id": {"value": link.get("value"), "type": link.get("type")},
            "title": rec.get("title"),
            "author": rec.get("author"),
            "issn": rec.get("issn"),
            "isbn": rec.get("isbn"),
            "complete_edition": "",
            "network_number": list(rec.get("network_numbers") or []),
            "place_of_publication": rec.get("place"),
            "date_of_publication": rec.get("year"),
            "publisher_const": rec.get("publisher"),
            "holdings": {"value": None, "link": self._link(f"bibs/{mms}/holdings")},
            "created_by": rec.get("created_by", "System"),
            "created_date": rec.get("created_date", "2020-06-05Z"),
            "last_modified_by": rec.get("last_modified_by", "System"),
            "last_modified_date": rec.get("last_modified_date", "2020-06-05Z"),
            "suppress_from_publishing": rec.get("suppress_from_publishing", "false"),
            "suppress_from_external_search": rec.get("suppress_from_external_search", "false"),
            "sync_with_oclc": "NONE",
            "sync_with_libraries_australia": "NONE",
            "originating_system": rec.get("originating_system", "OTHER"),
            "originating_system_id": rec.get("originating_system_id", ""),
            "cataloging_level": {"value": "00", "desc": "Default Level"},
        }
        if view != "brief":
            out["anies"] = [self._marcxml(rec, expand)]
        out["requests"] = {"value": 0, "link": None}
        out["link"] = self._link(f"bibs/{mms}")
        return out

    # ------------------------------------------------------------------ rendering: portfolios
    def render_portfolio(self, rec: dict) -> dict:
        pid, mms = rec["id"], rec["mms_id"]
        bib = self.bibs.get(mms) or {}
        cid, sid = rec.get("collection_id") or "", rec.get("service_id") or ""
        url = rec.get("url") or ""
        avail = rec.get("availability", "11")
        pol = rec.get("po_line") or ""
        out = {
            "id": pid,
            "is_local": bool(rec.get("is_local", True)),
            "is_standalone": bool(rec.get("is_standalone", True)),
            "resource_metadata": {
                "title": rec.get("title") or bib.get("title") or "",
                "mms_id": {"value": mms, "link": self._link(f"bibs/{mms}")},
            },
            "electronic_collection": {
                "id": {"value": cid, "link": self._link(f"electronic/e-collections/{cid}")} if cid else {"value": ""},
                "service": ({"value": sid, "link": self._link(f"electronic/e-collections/{cid}/e-services/{sid}")}
                            if sid else {"value": ""}),
            },
            "availability": {"value": avail, "desc": AVAILABILITY_DESC.get(avail, "")},
            "material_type": {"value": rec.get("material_type", "BOOK"), "desc": "Book" if rec.get("material_type", "BOOK") == "BOOK" else rec.get("material_type")},
            "activation_date": rec.get("activation_date", "2020-06-05Z"),
            "library": {"value": rec.get("library", "")},
            "access_type": {},
            "counter_platform": {"value": ""},
            "linking_details": {
                "url": f"jkey={url}" if url else "",
                "url_type": {"value": "static"},
                "url_type_override": {"value": "param"},
                "dynamic_url": "",
                "dynamic_url_override": "",
                "static_url": f"jkey={url}" if url else "",
                "static_url_override": "",
                "parser_parameters": "",
                "parser_parameters_override": "",
                "proxy_enabled": {"value": "false", "desc": "No"},
                "proxy": "",
            },
            "coverage_details": {
                "coverage_in_use": {"value": ""},
                "global_date_coverage_parameters": [],
                "local_date_coverage_parameters": [],
                "perpetual_date_coverage_parameters": [],
            },
            "po_line": {"value": pol, "link": self._link(f"acq/po-lines/{pol}")} if pol else {"value": ""},
            "public_access_model": {"value": ""},
            "license": {"value": ""},
            "interface": {"name": rec.get("interface", "")},
            "pda": {"value": "", "link": ""},
            "authentication_note": "",
            "public_note": rec.get("public_note", ""),
            "internal_description": "",
        }
        put = rec.get("_put")
        if put:
            for key, value in put.items():
                if key == "linking_details":
                    ld = dict(out["linking_details"])
                    ld.update(value)
                    out["linking_details"] = ld
                else:
                    out[key] = copy.deepcopy(value)
            # the logic fields always reflect the compact record
            out["availability"] = {"value": avail, "desc": AVAILABILITY_DESC.get(avail, "")}
            out["po_line"] = {"value": pol, "link": self._link(f"acq/po-lines/{pol}")} if pol else {"value": ""}
        out["link"] = self._link(f"bibs/{mms}/portfolios/{pid}")
        return out

    # ------------------------------------------------------------------ rendering: others
    def render_holding(self, rec: dict) -> dict:
        hid, mms = rec["id"], rec["mms_id"]
        return {
            "holding_id": hid,
            "created_by": "System",
            "created_date": "2020-06-05Z",
            "library": {"value": rec.get("library", "MAIN"), "desc": rec.get("library_desc", "Main Library")},
            "location": {"value": rec.get("location", "stacks"), "desc": rec.get("location_desc", "Stacks")},
            "call_number": rec.get("call_number", ""),
            "suppress_from_publishing": "false",
            "link": self._link(f"bibs/{mms}/holdings/{hid}"),
        }

    def render_pol(self, rec: dict) -> dict:
        number = rec["number"]
        status = rec.get("status", "ACTIVE")
        mms = rec.get("mms_id") or ""
        pols_portfolios = [pid for pid in self._pol_portfolios.get(number, ()) if pid in self.portfolios]
        if rec.get("_json"):
            out = copy.deepcopy(rec["_json"])
        else:
            ptype = rec.get("type", "E_BOOK_OT")
            out = {
                "number": number,
                "status": {},
                "owner": {"value": rec.get("owner", "MAIN"), "desc": "Main Library"},
                "type": {"value": ptype, "desc": POL_TYPE_DESC.get(ptype, ptype)},
                "vendor": {"value": rec.get("vendor", "EBSCO"), "desc": "EBSCO Information Services"},
                "rush": False,
                "price": {"sum": str(rec.get("price", "95.0")), "currency": {"value": "USD", "desc": "US Dollar"}},
                "discount": "0.0",
                "portfolios": {},
                "license": {"value": "", "desc": ""},
                "url": rec.get("url", ""),
                "vendor_account": "EBSCO-1",
                "reclaim_interval": "0",
                "expected_receipt_interval": "0",
                "claiming_interval": "0",
                "acquisition_method": {"value": "PURCHASE", "desc": "Purchase"},
                "no_charge": False,
                "cancellation_restriction": False,
                "vendor_reference_number": "",
                "source_type": {"value": "MIGRATION", "desc": "Migration"},
                "po_number": rec.get("po_number", ""),
                "additional_order_reference": "",
                "invoice_reference": "",
                "resource_metadata": {
                    "title": rec.get("title", ""),
                    "author": "",
                    "isbn": rec.get("isbn", ""),
                    "publisher": "",
                    "mms_id": {},
                    "publication_place": "",
                    "publication_year": "",
                    "vendor_title_number": "",
                    "system_control_number": [""],
                },
                "fund_distribution": [{"amount": {"sum": str(rec.get("price", "95.0")), "currency": {"value": "USD", "desc": "US Dollar"}},
                                       "fund_code": {"value": "EBOOKS", "desc": "E-books"}}],
                "reporting_code": "", "secondary_reporting_code": "", "tertiary_reporting_code": "",
                "fourth_reporting_code": "", "fifth_reporting_code": "",
                "vendor_note": "", "receiving_note": "",
                "alert": [], "note": [], "location": [],
                "base_status": "", "access_provider": "", "manual_renewal": False, "renewal_cycle": {},
                "renewal_period": 0, "renewal_note": "",
                "material_type": {"value": "BOOK", "desc": "Book"},
                "created_date": rec.get("created_date", "2019-08-01Z"),
                "status_date": rec.get("status_date", "2020-06-05Z"),
                "expected_receipt_date": "2019-09-01Z",
            }
        out["number"] = number
        out["status"] = {"value": status, "desc": POL_STATUS_DESC.get(status, status.title())}
        out["portfolios"] = {
            "portfolio": [{"id": pid, "link": self._link(f"bibs/{self.portfolios[pid]['mms_id']}/portfolios/{pid}")}
                          for pid in pols_portfolios],
            "total_record_count": len(pols_portfolios),
        }
        rm = out.setdefault("resource_metadata", {})
        rm["mms_id"] = {"value": mms, "link": self._link(f"bibs/{mms}")} if mms else {"value": ""}
        return out

    # ------------------------------------------------------------------ bibs
    def get_bib(self, mms_id: str, view: str = "full", expand: str = "") -> dict:
        with self.lock:
            return self.render_bib(self._bib_or_error(mms_id), view, expand)

    def search_bibs(self, params: dict) -> dict:
        view = params.get("view") or "full"
        expand = params.get("expand") or ""
        with self.lock:
            if params.get("mms_id") not in (None, ""):
                ids = [i.strip() for i in params["mms_id"].split(",") if i.strip()]
                if not ids or len(ids) > 100 or not all(i.isdigit() for i in ids):
                    raise SandboxError("402203", "Input parameter mmsId list is not valid.")
                found = [self.bibs[i] for i in dict.fromkeys(ids) if i in self.bibs]
            elif params.get("other_system_id") not in (None, ""):
                other = str(params["other_system_id"])
                found = [self.bibs[m] for m in dict.fromkeys(self._other_ids.get(other, ())) if m in self.bibs]
            elif params.get("nz_mms_id") or params.get("cz_mms_id"):
                kind = "NZ" if params.get("nz_mms_id") else "CZ"
                value = str(params.get("nz_mms_id") or params.get("cz_mms_id"))
                found = [self.bibs[m] for m in self._linked.get(value, ())
                         if m in self.bibs and (self.bibs[m].get("linked_record_id") or {}).get("type") == kind]
            else:
                raise SandboxError("401652", "General Error - An error has occurred while processing the request.")
            if not found:
                return {"total_record_count": 0}
            return {"bib": [self.render_bib(b, view, expand) for b in found], "total_record_count": len(found)}

    def delete_bib(self, mms_id: str, override: str = "false") -> None:
        with self.lock:
            if str(override).lower() not in ("true", "false"):
                raise SandboxError("401873", "Input parameter mms_id or parameter override is not valid.")
            rec = self._bib_or_error(mms_id)
            link = rec.get("linked_record_id") or {}
            if link.get("type") == "CZ":
                raise SandboxError("40166454", "Delete Bib error. Community Zone Bib cannot be deleted.")
            inv = self.inventory_of(mms_id)
            if inv["portfolios"] or inv["holdings"]:
                raise SandboxError("4022020", "Delete Bib error. The record has inventory (holdings or portfolios) attached.")
            if inv["open_po_lines"]:
                raise SandboxError("4022020", f"Delete Bib error. The record cannot be deleted as it has associated PO-line(s): "
                                           f"{', '.join(inv['open_po_lines'])}.")
            if link.get("type") == "NZ" and self.nz_bib_delete == "retain":
                raise SandboxError("4022020", "Delete Bib error. The record is linked to the Network Zone; unlink it first (op=unlink_from_nz).")
            self._remove_bib(mms_id)

    def _remove_bib(self, mms_id: str) -> None:
        self.bib_version += 1
        rec = self.bibs.pop(mms_id)
        self._drop_bib_index(rec)
        self._bib_portfolios.pop(mms_id, None)
        self._bib_holdings.pop(mms_id, None)
        self.deleted_bibs.append(mms_id)

    def unlink_from_nz(self, mms_id: str) -> dict:
        with self.lock:
            rec = self._bib_or_error(mms_id)
            link = rec.get("linked_record_id") or {}
            if link.get("type") != "NZ":
                raise SandboxError("401652", "General Error - The record is not linked to the Network Zone.")
            self._drop_bib_index(rec)
            rec = self._mutable(self.bibs, mms_id)
            rec["linked_record_id"] = {"value": None, "type": None}
            rec["network_numbers"] = [n for n in rec.get("network_numbers") or () if not n.startswith("(EXLNZ-")]
            self._add_bib(rec)
            return self.render_bib(rec)

    def put_bib(self, mms_id: str, xml_body: str) -> dict:
        with self.lock:
            rec = self._bib_or_error(mms_id)
            if (rec.get("linked_record_id") or {}).get("type") == "CZ":
                raise SandboxError("40166454", "Error - Not supported from the community zone.")
            fields = _parse_bib_xml(xml_body)
            self._drop_bib_index(rec)
            rec = self._mutable(self.bibs, mms_id)
            # swap-all: rest_bib.xsd says suppress_from_publishing defaults to true when omitted
            rec["suppress_from_publishing"] = fields.get("suppress_from_publishing") or "true"
            rec["suppress_from_external_search"] = fields.get("suppress_from_external_search") or "false"
            if fields.get("marcxml"):
                rec["marcxml"] = fields["marcxml"]
                rec["title"] = fields.get("title", rec.get("title"))
                nns = list(fields.get("network_numbers") or ())
                link = rec.get("linked_record_id") or {}
                if link.get("type") == "NZ":  # the NZ link is system data, kept whatever the record says
                    nns = [n for n in nns if not n.startswith("(EXLNZ-")] + [n for n in rec.get("network_numbers") or () if n.startswith("(EXLNZ-")]
                rec["network_numbers"] = nns
            rec["last_modified_by"] = "API"
            self._add_bib(rec)
            return self.render_bib(rec)

    def create_bib(self, xml_body: str, from_nz_mms_id: str = "") -> dict:
        with self.lock:
            fields = _parse_bib_xml(xml_body)
            if not fields.get("marcxml"):
                raise SandboxError("402203", "Input record is not valid: the bib has no <record>.")
            mms = self._new_id("99", lambda c: c in self.bibs or c in self.deleted_bibs)
            marc = re.sub(r'<controlfield tag="001">[^<]*</controlfield>', f'<controlfield tag="001">{mms}</controlfield>', fields["marcxml"])
            if '<controlfield tag="001">' not in marc:
                marc = re.sub(r"(<record[^>]*>(?:\s*<leader>[^<]*</leader>)?)", rf'\1<controlfield tag="001">{mms}</controlfield>', marc, count=1)
            rec = {
                "mms_id": mms, "title": fields.get("title", ""),
                "network_numbers": fields.get("network_numbers", []),
                "marcxml": marc,
                "suppress_from_publishing": fields.get("suppress_from_publishing") or "false",
                "created_by": "API", "originating_system": "OTHER",
            }
            if from_nz_mms_id:
                rec["linked_record_id"] = {"value": from_nz_mms_id, "type": "NZ"}
            self._add_bib(rec)
            return self.render_bib(rec)

    # ------------------------------------------------------------------ holdings
    def list_holdings(self, mms_id: str) -> dict:
        with self.lock:
            bib = self._bib_or_error(mms_id)
            hids = self._bib_holdings.get(mms_id, [])
            out: dict[str, Any] = {}
            if hids:
                out["holding"] = [self.render_holding(self.holdings[h]) for h in hids]
            out["bib_data"] = {"mms_id": mms_id, "title": bib.get("title"), "link": self._link(f"bibs/{mms_id}")}
            out["total_record_count"] = len(hids)
            return out

    def get_holding(self, mms_id: str, holding_id: str) -> dict:
        with self.lock:
            self._bib_or_error(mms_id)
            rec = self.holdings.get(holding_id)
            if rec is None or rec["mms_id"] != mms_id:
                raise SandboxError("401689", "Holdings ID is not valid.")
            return self.render_holding(rec)

    # ------------------------------------------------------------------ portfolios
    def _portfolio_or_error(self, mms_id: str, pid: str) -> dict:
        rec = self.portfolios.get(pid)
        if rec is None or rec["mms_id"] != mms_id:
            raise SandboxError("60123", "Failed to find the Portfolio ID.")
        return rec

    def list_portfolios(self, mms_id: str, limit: int = 10, offset: int = 0) -> dict:
        with self.lock:
            self._bib_or_error(mms_id, message="Input parameter mms Id is not valid.")
            pids = self._bib_portfolios.get(mms_id, [])
            page = pids[offset: offset + limit]
            out: dict[str, Any] = {}
            if page:
                out["portfolio"] = [self.render_portfolio(self.portfolios[p]) for p in page]
            out["total_record_count"] = len(pids)
            return out

    def get_portfolio(self, mms_id: str, pid: str) -> dict:
        with self.lock:
            self._bib_or_error(mms_id)
            return self.render_portfolio(self._portfolio_or_error(mms_id, pid))

    def create_portfolio(self, mms_id: str, body: dict) -> dict:
        """POST /bibs/{mms_id}/portfolios/: standalone unless ``is_standalone`` is false, then into
        the ``electronic_collection`` named in the body (see :mod:`p2e.sandbox.collections`)."""
        with self.lock:
            self._bib_or_error(mms_id, code="60221", numeric_code="60221", message="The MMS ID is not valid.")
            standalone = str(body.get("is_standalone", True)).lower() != "false"
            ec = body.get("electronic_collection") or {}
            cid = sid = ""
            if not standalone:
                cid, sid = _val(ec.get("id")), _val(ec.get("service"))
                if cid not in self.e_collections:
                    raise SandboxError("60121", "Failed to find the Collection ID.")
                if self._services.get(sid) != cid:
                    raise SandboxError("60122", "Failed to find the Service ID.")
            return self._create_portfolio(mms_id, body, cid, sid)

    def update_portfolio(self, mms_id: str, pid: str, body: dict) -> dict:
        with self.lock:
            self._bib_or_error(mms_id, code="60221", numeric_code="60221", message="The MMS ID is not valid.")
            rec = self._portfolio_or_error(mms_id, pid)
            pol = _val(body.get("po_line"))
            if pol and pol not in self.po_lines:
                raise SandboxError("60172", "The PO line reference is not valid.")
            avail = _val(body.get("availability")) or "11"
            if avail not in AVAILABILITY_DESC:
                raise SandboxError("60161", "The availability code is not valid.")
            current = self.render_portfolio(rec)
            local = bool(rec.get("is_local", True))
            put: dict[str, Any] = {}
            for key in PORTFOLIO_PUT_FIELDS:
                if key in ("availability", "po_line"):
                    continue
                if not local and key in LOCAL_ONLY_PUT:
                    put[key] = current.get(key)
                    continue
                if key == "linking_details":
                    incoming = body.get(key) or {}
                    ld = {}
                    for lk, lv in current["linking_details"].items():
                        if lk in LINKING_NOT_PUT or (not local and lk in LOCAL_ONLY_LINKING):
                            ld[lk] = lv
                        else:
                            ld[lk] = copy.deepcopy(incoming.get(lk, _empty_like(lv)))
                    put[key] = ld
                    continue
                if key in body:
                    put[key] = copy.deepcopy(body[key])
                elif key in current:
                    put[key] = _empty_like(current[key])  # swap-all: missing means emptied
            # po_line index
            old = rec.get("po_line") or ""
            if old != pol:
                if old and pid in self._pol_portfolios.get(old, []):
                    self._pol_portfolios[old].remove(pid)
                if pol:
                    self._pol_portfolios.setdefault(pol, []).append(pid)
            rec = self._mutable(self.portfolios, pid)
            rec["po_line"] = pol
            rec["availability"] = avail
            rec["_put"] = put
            return self.render_portfolio(rec)

    def delete_portfolio(self, mms_id: str, pid: str, bib: str = "retain") -> None:
        with self.lock:
            if bib not in BIB_HANDLING:
                raise SandboxError("40166410", f"The parameter bib is invalid: {bib}. Valid values are retain, suppress, delete.")
            self._bib_or_error(mms_id, code="60221", numeric_code="60221", message="The MMS ID is not valid.")
            rec = self._portfolio_or_error(mms_id, pid)
            del self.portfolios[pid]
            self._bib_portfolios[mms_id].remove(pid)
            if rec.get("po_line") and pid in self._pol_portfolios.get(rec["po_line"], []):
                self._pol_portfolios[rec["po_line"]].remove(pid)
            if pid in self._service_portfolios.get(rec.get("service_id") or "", ()):
                self._service_portfolios[rec["service_id"]].remove(pid)
            self.deleted_portfolios.append(pid)
            if bib == "retain":
                return
            inv = self.inventory_of(mms_id)
            if inv["portfolios"] or inv["holdings"] or inv["open_po_lines"]:
                return  # the bib is not "left without any inventory": Alma leaves it alone
            brec = self.bibs[mms_id]
            link = (brec.get("linked_record_id") or {}).get("type")
            if bib == "suppress":
                self._mutable(self.bibs, mms_id)["suppress_from_publishing"] = "true"
                return
            if link == "CZ":
                return  # a CZ-linked bib is never deleted by the API (the CZ removes it itself)
            if link == "NZ" and self.nz_bib_delete == "retain":
                return
            self._remove_bib(mms_id)

    # ------------------------------------------------------------------ PO lines
    def get_pol(self, number: str) -> dict:
        with self.lock:
            rec = self.po_lines.get(number)
            if rec is None:
                raise SandboxError("401871", f"Po-Line {number} not found.")
            return self.render_pol(rec)

    def search_pols(self, q: str = "", status: str = "ALL", limit: int = 10, offset: int = 0) -> dict:
        status = (status or "ALL").upper()
        if status not in ("ALL", "ALL_WITH_CLOSED", "ACTIVE", "CLOSED", "CANCELLED"):
            raise SandboxError("40166410", f"The parameter status is invalid: {status}.")
        with self.lock:
            candidates: Iterable[dict]
            field = value = ""
            if q:
                if "~" not in q:
                    raise SandboxError("40188600", f"Search query parameter {q} is not supported.")
                field, value = q.split("~", 1)
                if field not in ("mms_id", "number", "po_number", "title", "all"):
                    raise SandboxError("40188600", f"Search query parameter {field} is not supported.")
            if field == "mms_id":
                candidates = [self.po_lines[n] for n in self._bib_pols.get(value, ())]
            elif field == "number":
                candidates = [self.po_lines[value]] if value in self.po_lines else []
            else:
                candidates = self.po_lines.values()
                if field == "po_number":
                    candidates = [p for p in candidates if p.get("po_number") == value]
                elif field in ("title", "all"):
                    v = value.lower()
                    candidates = [p for p in candidates if v in (p.get("title") or "").lower() or v == p["number"].lower()]

            def keep(p: dict) -> bool:
                s = p.get("status", "ACTIVE").upper()
                if status == "ALL":
                    return s != "CLOSED"
                if status == "ALL_WITH_CLOSED":
                    return True
                return s == status

            hits = [p for p in candidates if keep(p)]
            page = hits[offset: offset + limit]
            out: dict[str, Any] = {}
            if page:
                out["po_line"] = [self.render_pol(p) for p in page]
            out["total_record_count"] = len(hits)
            return out

    def update_pol(self, number: str, body: dict | None) -> dict:
        with self.lock:
            rec = self.po_lines.get(number)
            if rec is None:
                raise SandboxError("401871", "PO Line not found.")
            if not body:
                raise SandboxError("401676", "Request body not found.")
            rec = self._mutable(self.po_lines, number)
            current_mms = rec.get("mms_id") or ""
            new_mms = _val((body.get("resource_metadata") or {}).get("mms_id")) or current_mms
            if new_mms != current_mms and self.pol_relink == "accepted":
                target = self.bibs.get(new_mms)
                if target is None:
                    raise SandboxError("401876", f"Failed to update PO Line. The MMS ID {new_mms} is not valid.")
                cur = self.bibs.get(current_mms) or {}
                if (cur.get("linked_record_id") or {}).get("type") == "CZ" and self.pol_relink_from_cz == "refused":
                    # Alma's UI: "Relink" cannot be used when the POL is linked to Community Zone records
                    raise SandboxError("401876", "Failed to update PO Line. A PO line linked to a Community Zone record cannot be relinked.")
                if current_mms and number in self._bib_pols.get(current_mms, []):
                    self._bib_pols[current_mms].remove(number)
                self._bib_pols.setdefault(new_mms, []).append(number)
                rec["mms_id"] = new_mms
            stored = copy.deepcopy(body)
            for computed in ("number", "status", "portfolios"):
                stored.pop(computed, None)
            rm = stored.setdefault("resource_metadata", {})
            if isinstance(rm, dict):
                rm.pop("mms_id", None)
            base = self.render_pol(rec)
            base.update(stored)
            if isinstance(rm, dict):
                merged_rm = dict(self.render_pol(rec).get("resource_metadata") or {})
                merged_rm.update(rm)
                base["resource_metadata"] = merged_rm
            rec["_json"] = base
            return self.render_pol(rec)

    # ------------------------------------------------------------------ dump
    def state(self) -> dict:
        with self.lock:
            return {
                "bibs": {m: self.render_bib(r) for m, r in self.bibs.items()},
                "portfolios": {p: self.render_portfolio(r) for p, r in self.portfolios.items()},
                "po_lines": {n: self.render_pol(r) for n, r in self.po_lines.items()},
                "holdings": {h: self.render_holding(r) for h, r in self.holdings.items()},
                "e_collections": {c: self.render_collection(r) for c, r in self.e_collections.items()},
                "deleted": {"bibs": list(self.deleted_bibs), "portfolios": list(self.deleted_portfolios)},
            }


# ---------------------------------------------------------------------- small helpers
def _val(field: Any) -> str:
    """The value of an Alma ``{"value": ...}`` field (or a bare string)."""
    if isinstance(field, dict):
        v = field.get("value")
        return "" if v is None else str(v)
    return "" if field is None else str(field)


def _empty_like(value: Any) -> Any:
    if isinstance(value, dict):
        return {"value": ""} if "value" in value else {}
    if isinstance(value, list):
        return []
    if isinstance(value, bool):
        return False
    return ""


def _parse_bib_xml(text: str) -> dict:
    """The fields the sandbox uses from a ``<bib>`` XML body."""
    try:
        root = ET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except ET.ParseError as exc:
        raise SandboxError("402203", f"Input XML is not valid: {exc}.")
    root_tag = root.tag.split("}")[-1]
    if root_tag != "bib":
        raise SandboxError("402203", "Input XML is not valid: the root element must be <bib>.")
    out: dict[str, Any] = {}
    for name in ("suppress_from_publishing", "suppress_from_external_search"):
        el = root.find(name)
        text = (el.text or "").strip() if el is not None else ""
        if text:
            out[name] = text.lower()
    record = root.find("record")
    if record is not None:
        out["marcxml"] = ET.tostring(record, encoding="unicode")
        nns = []
        for df in record.findall("datafield"):
            tag = df.get("tag")
            if tag == "035":
                nns += [(sf.text or "").strip() for sf in df.findall("subfield") if sf.get("code") == "a" and (sf.text or "").strip()]
            elif tag == "245":
                out["title"] = " ".join((sf.text or "").strip() for sf in df.findall("subfield") if sf.get("code") in ("a", "b"))
        out["network_numbers"] = nns
    return out


def _compact_marc(rec: dict) -> str:
    """MARC for a compact seed bib, without the closing ``</record>``: 020 (``isbns`` or ``isbn``),
    022 ``issn``, 024 ``doi``, 035 ``network_numbers``, 100, 245, 250 ``edition``, 856 ``url``;
    008/23 is ``o`` (online) unless ``form`` is ``"print"``."""
    mms = rec["mms_id"]
    form = " " if rec.get("form") == "print" else "o"
    parts = ['<record><leader>01234nam a2200289 i 4500</leader>',
             f'<controlfield tag="001">{_x(mms)}</controlfield>',
             '<controlfield tag="005">20200605101010.0</controlfield>',
             f'<controlfield tag="008">200605s{_x(rec.get("year") or "2010")}    xx      {form}     000 0 eng d</controlfield>']

    def field(tag: str, value: Any, ind: str = "  ", code: str = "a", more: str = "") -> None:
        parts.append(f'<datafield ind1="{ind[0]}" ind2="{ind[1]}" tag="{tag}"><subfield code="{code}">{_x(value)}</subfield>{more}</datafield>')

    for isbn in rec.get("isbns") or ([rec["isbn"]] if rec.get("isbn") else []):
        field("020", isbn)
    if rec.get("issn"):
        field("022", rec["issn"], "0 ")
    if rec.get("doi"):
        field("024", rec["doi"], "7 ", more='<subfield code="2">doi</subfield>')
    for nn in rec.get("network_numbers") or ():
        field("035", nn)
    if rec.get("author"):
        field("100", rec["author"], "1 ")
    field("245", rec.get("title") or "", "00")
    if rec.get("edition"):
        field("250", rec["edition"])
    if rec.get("url"):
        field("856", rec["url"], "40", code="u")
    return "".join(parts)
