"""The embedded Alma: an HTTP server on loopback that answers like the Alma REST API.

    >>> from p2e.sandbox import Sandbox
    >>> with Sandbox.start() as sb:                      # doctest: +SKIP
    ...     requests.get(sb.url + "/almaws/v1/bibs/test",
    ...                  headers={"Authorization": "apikey " + sb.api_key})

Standard library only: ``http.server.ThreadingHTTPServer`` speaking HTTP/1.1 with a
Content-Length on every answer, so a ``requests.Session`` keeps its connections alive.
The Alma rules live in :mod:`p2e.sandbox.store`; this module does transport: routing,
authentication, thresholds (429), realism knobs (latency, 500s, dropped connections,
slow answers), JSON/XML content negotiation and the request log.
"""
from __future__ import annotations

import collections
import hashlib
import io
import json
import random
import re
import socket
import string
import threading
import time
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from . import sru as sru_server
from .arrivals import ArrivalReader, PerSecondWindow, date_arrivals
from .store import SandboxError, Store

API_KEY = "sandbox-rw-key"
READONLY_KEY = "sandbox-ro-key"
NO_ACQ_KEY = "sandbox-no-acq-key"  # read/write Bibs and Electronic resources, no Acquisitions
INSTITUTION_CODE = "01CARLI_SANDBOX"
UNAUTHORIZED_MESSAGE = "API-key not defined or not configured to allow this API."
DEFAULT_DAILY_LIMIT = 1_000_000

# (method, path template, Sandbox method name). Order matters: literal segments first.
ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/almaws/v1/bibs/test", "_test"),
    ("POST", "/almaws/v1/bibs/test", "_test"),
    ("GET", "/almaws/v1/acq/test", "_test"),
    ("POST", "/almaws/v1/acq/test", "_test"),
    ("GET", "/almaws/v1/bibs", "_search_bibs"),
    ("POST", "/almaws/v1/bibs", "_create_bib"),
    ("GET", "/almaws/v1/bibs/{mms_id}", "_get_bib"),
    ("PUT", "/almaws/v1/bibs/{mms_id}", "_put_bib"),
    ("DELETE", "/almaws/v1/bibs/{mms_id}", "_delete_bib"),
    ("POST", "/almaws/v1/bibs/{mms_id}", "_bib_op"),
    ("GET", "/almaws/v1/bibs/{mms_id}/holdings", "_list_holdings"),
    ("GET", "/almaws/v1/bibs/{mms_id}/holdings/{holding_id}", "_get_holding"),
    ("GET", "/almaws/v1/bibs/{mms_id}/portfolios", "_list_portfolios"),
    ("POST", "/almaws/v1/bibs/{mms_id}/portfolios/", "_create_portfolio"),
    ("GET", "/almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}", "_get_portfolio"),
    ("PUT", "/almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}", "_put_portfolio"),
    ("DELETE", "/almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}", "_delete_portfolio"),
    ("GET", "/almaws/v1/acq/po-lines", "_search_pols"),
    ("GET", "/almaws/v1/acq/po-lines/{po_line_id}", "_get_pol"),
    ("PUT", "/almaws/v1/acq/po-lines/{po_line_id}", "_put_pol"),
    ("GET", "/almaws/v1/electronic/e-collections", "_list_collections"),
    ("POST", "/almaws/v1/electronic/e-collections", "_create_collection"),
    ("GET", "/almaws/v1/electronic/e-collections/{collection_id}", "_get_collection"),
    ("GET", "/almaws/v1/electronic/e-collections/{collection_id}/e-services", "_list_services"),
    ("POST", "/almaws/v1/electronic/e-collections/{collection_id}/e-services", "_create_service"),
    ("GET", "/almaws/v1/electronic/e-collections/{collection_id}/e-services/{service_id}", "_get_service"),
    ("GET", "/almaws/v1/electronic/e-collections/{collection_id}/e-services/{service_id}/portfolios", "_list_service_portfolios"),
    ("POST", "/almaws/v1/electronic/e-collections/{collection_id}/e-services/{service_id}/portfolios/", "_create_service_portfolio"),
    ("GET", "/almaws/v1/electronic/e-collections/{collection_id}/e-services/{service_id}/portfolios/{portfolio_id}",
     "_get_service_portfolio"),
]


def _compile(template: str) -> re.Pattern:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template.rstrip("/")))
    return re.compile("^" + pattern + "/?$")


_COMPILED = [(m, _compile(t), t, h) for m, t, h in ROUTES]


@dataclass
class Options:
    """The realism switches; all can be changed at run time with :meth:`Sandbox.set_options`."""

    rate_limit: float | None = None
    daily_limit: int | None = None
    latency_ms: float = 0
    jitter_ms: float = 0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 0
    random_seed: int = 0
    pol_relink: str = "accepted"
    nz_bib_delete: str = "unlink_and_delete"
    pol_relink_from_cz: str = "refused"
    outage_seconds: float = 0  # an outage this long (float("inf"): until switched off); 0 = none
    outage_after_calls: int = 0  # ... that starts after this many more API calls were answered normally
    outage_mode: str = "503"  # "503": answer 503 Service Unavailable; "refuse": close the connection unanswered
    fault_methods: str = ""  # error_rate, drop_rate and slow_rate apply to these methods only ("POST,PUT"); "" = all
    sru_enabled: bool = True  # the "SRU Server" integration profile is on; off: 403 and an HTML page (Alma's answer is unknown)
    sru_publish_availability: bool = True  # SRU records carry AVE fields ($8 $c $m $e $l $s $t)
    sru_counts_against_thresholds: bool = True  # unknown in Alma: SRU calls count in the daily and per-second limits
    cz_collection_post: str = "refused"  # a portfolio POSTed into a Community Zone collection: "refused" (60162) or "accepted"

    def check(self) -> None:
        if self.pol_relink not in ("accepted", "ignored"):
            raise ValueError("pol_relink must be 'accepted' or 'ignored'")
        if self.nz_bib_delete not in ("unlink_and_delete", "retain"):
            raise ValueError("nz_bib_delete must be 'unlink_and_delete' or 'retain'")
        if self.pol_relink_from_cz not in ("refused", "accepted"):
            raise ValueError("pol_relink_from_cz must be 'refused' or 'accepted'")
        if self.cz_collection_post not in ("refused", "accepted"):
            raise ValueError("cz_collection_post must be 'refused' or 'accepted'")
        if self.outage_mode not in ("503", "refuse"):
            raise ValueError("outage_mode must be '503' or 'refuse'")
        for name in ("error_rate", "drop_rate", "slow_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")


class _Dropped(Exception):
    """Close the connection without answering."""


class _Reply:
    def __init__(self, status: int, body: Any = None, *, xml_root: str | None = None, raw: bytes | None = None,
                 content_type: str | None = None):
        self.status, self.body, self.xml_root, self.raw, self.content_type = status, body, xml_root, raw, content_type


# ---------------------------------------------------------------------- JSON <-> XML
_WRAPPERS = {"network_number": "network_numbers"}
_LIST_ROOTS = {"bib": "bibs", "portfolio": "portfolios", "po_line": "po_lines", "holding": "holdings",
               "electronic_collection": "electronic_collections", "electronic_service": "electronic_services"}


def _xml_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return escape(str(v))


def _to_xml(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, list):
        wrapper = _WRAPPERS.get(name)
        if wrapper:
            out.append(f"<{wrapper}>")
        for item in value:
            if name == "anies" and isinstance(item, str):
                out.append(re.sub(r"^<\?xml[^>]*\?>", "", item))
            else:
                _to_xml(name, item, out)
        if wrapper:
            out.append(f"</{wrapper}>")
        return
    if isinstance(value, dict):
        scalar = all(not isinstance(v, (dict, list)) for v in value.values())
        if "value" in value and scalar:
            attrs = "".join(f' {k}="{escape(_xml_value(v), {chr(34): "&quot;"})}"' for k, v in value.items()
                            if k != "value" and v not in (None, ""))
            out.append(f"<{name}{attrs}>{_xml_value(value['value'])}</{name}>")
            return
        attrs = ""
        if isinstance(value.get("link"), str) and value.get("link"):
            attrs = f' link="{escape(value["link"], {chr(34): "&quot;"})}"'
        out.append(f"<{name}{attrs}>")
        for k, v in value.items():
            if k == "link" and attrs:
                continue
            _to_xml(k, v, out)
        out.append(f"</{name}>")
        return
    out.append(f"<{name}>{_xml_value(value)}</{name}>")


def to_xml(root: str, body: dict) -> str:
    """Render an Alma JSON object as Alma's XML (lists become ``<bibs total_record_count="N">``)."""
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>']
    list_key = next((k for k in _LIST_ROOTS if k in body or root == _LIST_ROOTS[k]), None) if "total_record_count" in body else None
    if list_key:
        out.append(f'<{_LIST_ROOTS[list_key]} total_record_count="{body.get("total_record_count", 0)}">')
        for item in body.get(list_key, []):
            _to_xml(list_key, item, out)
        for k, v in body.items():
            if k not in (list_key, "total_record_count"):
                _to_xml(k, v, out)
        out.append(f"</{_LIST_ROOTS[list_key]}>")
    else:
        _to_xml(root, body, out)
    return "".join(out)


def xml_to_json(text: bytes | str) -> dict:
    """Alma XML entity -> the JSON mapping (attributes -> {"value", attr...}; repeats -> lists)."""
    root = ET.fromstring(text)

    def conv(el: ET.Element) -> Any:
        children = list(el)
        if not children:
            if el.attrib:
                return {"value": el.text or "", **el.attrib}
            return el.text or ""
        out: dict[str, Any] = dict(el.attrib)
        for c in children:
            tag = c.tag.split("}")[-1]
            v = conv(c)
            if tag in out:
                if not isinstance(out[tag], list):
                    out[tag] = [out[tag]]
                out[tag].append(v)
            else:
                out[tag] = v
        return out

    data = conv(root)
    return data if isinstance(data, dict) else {"value": data}


def _error_body(code: str, message: str, tracking: str | None, as_json: bool) -> tuple[bytes, str]:
    if as_json:
        err: dict[str, Any] = {"errorCode": code, "errorMessage": message}
        if tracking:
            err["trackingId"] = tracking
        body = {"errorsExist": True, "errorList": {"error": [err]}, "result": None}
        return json.dumps(body).encode(), "application/json;charset=UTF-8"
    tr = f"<trackingId>{escape(tracking)}</trackingId>" if tracking else ""
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>true</errorsExist>'
           f"<errorList><error><errorCode>{escape(code)}</errorCode><errorMessage>{escape(message)}</errorMessage>{tr}"
           "</error></errorList></web_service_result>")
    return xml.encode(), "application/xml;charset=UTF-8"


# ---------------------------------------------------------------------- HTTP plumbing
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AlmaSandbox/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # one answer = headers + body written back to back: without NODELAY, Nagle and the
        # client's delayed ACK add ~40 ms to every keep-alive request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.sandbox._count_connection()  # type: ignore[attr-defined]
        self.arrivals = ArrivalReader.wrap(self.connection)  # the kernel dates each request as it arrives (Linux)
        if self.arrivals is not None:
            self.rfile.close()
            self.rfile = io.BufferedReader(self.arrivals)
        self.arrived = time.monotonic()

    def parse_request(self) -> bool:
        # the moment this request arrived, for the per-second threshold: the kernel's date, else now (before
        # the headers are parsed): a sandbox thread that reads late must not count a burst that never was
        now = time.monotonic()
        kernel = self.arrivals.arrived if self.arrivals is not None else None
        self.arrived = min(now, kernel) if kernel is not None else now
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def version_string(self) -> str:
        return self.server_version

    def _handle(self) -> None:
        self.server.sandbox._serve(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self) -> None:
        super().server_bind()
        date_arrivals(self.socket)  # requests waiting to be accepted are dated as they arrive (see arrivals.py)


class Sandbox:
    """A running embedded Alma. Start with :meth:`start`; stop with :meth:`stop` or ``with``."""

    def __init__(self, seed: dict | None, port: int, options: Options):
        options.check()
        self.options = options
        self.api_key = API_KEY
        self.readonly_key = READONLY_KEY
        self.no_acq_key = NO_ACQ_KEY
        self.institution_code = INSTITUTION_CODE
        self.requests: list[dict] = []
        self._log_lock = threading.Lock()
        self._gate_lock = threading.Lock()
        self._window = PerSecondWindow()  # arrivals counted for rate_limit
        self._daily_used = 0
        self._occurrences: collections.Counter = collections.Counter()
        self._outage_calls = 0  # API calls seen since the outage switches were set
        self._outage_started: float | None = None
        self._tracking = 0
        self.connections_opened = 0  # TCP connections accepted (keep-alive check)
        self.store = Store(seed, pol_relink=options.pol_relink, nz_bib_delete=options.nz_bib_delete,
                           pol_relink_from_cz=options.pol_relink_from_cz, cz_collection_post=options.cz_collection_post)
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.sandbox = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.store.base_url = self.url
        self._sru_index = sru_server.SruIndex()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"alma-sandbox-{self.port}", daemon=True)
        self._stopped = threading.Event()

    # -------------------------------------------------------------- public interface
    @classmethod
    def start(cls, seed: dict | None = None, port: int = 0, rate_limit: float | None = None,
              daily_limit: int | None = None, latency_ms: float = 0, jitter_ms: float = 0,
              error_rate: float = 0.0, drop_rate: float = 0.0, slow_rate: float = 0.0, slow_ms: float = 0,
              random_seed: int = 0, pol_relink: str = "accepted",
              nz_bib_delete: str = "unlink_and_delete", pol_relink_from_cz: str = "refused",
              **more: Any) -> "Sandbox":
        """Start on ``port`` (0: any free one). ``more``: any other :class:`Options` field."""
        options = Options(rate_limit=rate_limit, daily_limit=daily_limit, latency_ms=latency_ms,
                          jitter_ms=jitter_ms, error_rate=error_rate, drop_rate=drop_rate, slow_rate=slow_rate,
                          slow_ms=slow_ms, random_seed=random_seed, pol_relink=pol_relink,
                          nz_bib_delete=nz_bib_delete, pol_relink_from_cz=pol_relink_from_cz, **more)
        sb = cls(seed, port, options)
        sb._thread.start()
        return sb

    def set_options(self, **changes: Any) -> None:
        """Change realism at run time, e.g. ``sb.set_options(error_rate=0.1, pol_relink="ignored")``."""
        known = {f.name for f in fields(Options)}
        unknown = set(changes) - known
        if unknown:
            raise TypeError(f"unknown sandbox option(s): {', '.join(sorted(unknown))}")
        new = Options(**{**self.options.__dict__, **changes})
        new.check()
        with self._gate_lock:
            self.options = new
            if "daily_limit" in changes:
                self._daily_used = 0
            if {"outage_seconds", "outage_after_calls", "outage_mode"} & set(changes):
                self._outage_calls, self._outage_started = 0, None
        self.store.pol_relink = new.pol_relink
        self.store.nz_bib_delete = new.nz_bib_delete
        self.store.pol_relink_from_cz = new.pol_relink_from_cz
        self.store.cz_collection_post = new.cz_collection_post

    def state(self) -> dict:
        return self.store.state()

    def reset_requests(self) -> None:
        with self._log_lock:
            self.requests.clear()

    @property
    def daily_remaining(self) -> int:
        limit = self.options.daily_limit if self.options.daily_limit is not None else DEFAULT_DAILY_LIMIT
        return max(0, limit - self._daily_used)

    def stop(self) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            self._httpd.shutdown()
            self._httpd.server_close()

    def serve_forever(self) -> None:
        """Block until Ctrl+C (or :meth:`stop` from another thread), then stop."""
        try:
            while not self._stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Sandbox {self.url}>"

    # -------------------------------------------------------------- request handling
    def _count_connection(self) -> None:
        with self._log_lock:
            self.connections_opened += 1

    def _next_tracking(self) -> str:
        with self._log_lock:
            self._tracking += 1
            n = self._tracking
        rnd = random.Random(n)
        letters = "".join(rnd.choice(string.ascii_uppercase) for _ in range(5))
        return f"E01-{n:010d}-{letters}-AWAE{1000000000 + n}"

    def _fate(self, method: str, path: str) -> random.Random:
        """A random source fixed by (random_seed, method, path, how often that call was seen)."""
        with self._gate_lock:
            key = (method, path)
            n = self._occurrences[key]
            self._occurrences[key] = n + 1
        digest = hashlib.sha256(f"{self.options.random_seed}|{method}|{path}|{n}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def _serve(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = split.path
        raw_query = parse_qsl(split.query, keep_blank_values=True)
        query: dict[str, str] = {}
        for k, v in raw_query:
            query.setdefault(k, v)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        method = h.command
        if len(body) < length:  # the client went away while sending (killed mid-request): nothing is done
            self._log({"method": method, "path": path, "query": {}, "status": 0, "error_code": "INCOMPLETE"})
            h.close_connection = True
            return
        accept = (h.headers.get("Accept") or "").lower()
        fmt = (query.get("format") or "").lower()
        if fmt in ("json", "xml"):
            as_json = fmt == "json"
        else:  # Alma answers XML unless JSON is asked for
            as_json = "json" in accept

        if path.startswith("/sandbox/"):
            self._serve_sandbox(h, method, path)
            return

        logged_query = {k: v for k, v in query.items() if k != "apikey"}
        entry: dict[str, Any] = {"method": method, "path": path, "query": logged_query, "status": None,
                                 "error_code": None}
        if path.startswith("/view/sru/"):
            entry["apikey_sent"] = self._key_of(h, query) is not None  # SRU needs none: the client must not send it
        try:
            reply = self._dispatch(h, method, path, query, body, as_json)
        except _Dropped as dropped:
            entry["status"] = 0
            entry["error_code"] = "OUTAGE" if str(dropped) == "outage" else "DROPPED"  # OUTAGE: nothing was done
            self._log(entry)
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        except SandboxError as err:
            reply = self._error_reply(err.status, err.code, err.message, as_json)
        except Exception as exc:  # a sandbox bug: answer like Alma's 500, keep serving
            reply = self._error_reply(500, "401652", f"General Error - An error has occurred while processing the request. ({exc})", as_json)
        entry["status"] = reply.status
        if reply.status >= 400 and isinstance(reply.body, tuple):
            entry["error_code"] = reply.body[0]
        self._log(entry)
        self._write(h, reply, as_json)

    def _log(self, entry: dict) -> None:
        with self._log_lock:
            self.requests.append(entry)

    def _error_reply(self, status: int, code: str, message: str, as_json: bool, tracking: bool = True) -> _Reply:
        return _Reply(status, (code, message, self._next_tracking() if tracking else None))

    def _write(self, h: _Handler, reply: _Reply, as_json: bool) -> None:
        headers: dict[str, str] = {}
        if reply.status >= 400 and isinstance(reply.body, tuple):
            code, message, tracking = reply.body
            data, ctype = _error_body(code, message, tracking, as_json)
        elif reply.status == 204:
            data, ctype = b"", None
        elif reply.raw is not None:
            data, ctype = reply.raw, reply.content_type
        elif as_json:
            data, ctype = json.dumps(reply.body, ensure_ascii=False).encode("utf-8"), "application/json;charset=UTF-8"
        else:
            data, ctype = to_xml(reply.xml_root or "result", reply.body).encode("utf-8"), "application/xml;charset=UTF-8"
        if 200 <= reply.status < 300 and not h.path.startswith("/view/sru/"):
            headers["X-Exl-Api-Remaining"] = str(self.daily_remaining)
        try:
            h.send_response(reply.status)
            if ctype:
                h.send_header("Content-Type", ctype)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if data and h.command != "HEAD":
                h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _serve_sandbox(self, h: _Handler, method: str, path: str) -> None:
        if method == "GET" and path.rstrip("/") == "/sandbox/state":
            reply = _Reply(200, raw=json.dumps(self.state()).encode(), content_type="application/json")
        elif method == "GET" and path.rstrip("/") == "/sandbox/requests":
            with self._log_lock:
                data = json.dumps(list(self.requests)).encode()
            reply = _Reply(200, raw=data, content_type="application/json")
        else:
            reply = self._error_reply(404, "ROUTE_NOT_FOUND", f"No sandbox route for {method} {path}.", True, tracking=False)
        self._write(h, reply, True)

    def _key_of(self, h: _Handler, query: dict) -> str | None:
        auth = h.headers.get("Authorization") or ""
        if auth.lower().startswith("apikey "):
            return auth[7:].strip()
        return query.get("apikey")

    def _in_outage(self) -> bool:
        """The ``outage_*`` switches: is Alma down for this call?"""
        opts = self.options
        if not opts.outage_seconds:
            return False
        with self._gate_lock:
            self._outage_calls += 1
            if self._outage_calls <= opts.outage_after_calls:
                return False
            now = time.monotonic()
            if self._outage_started is None:
                self._outage_started = now
            return now - self._outage_started < opts.outage_seconds

    def _dispatch(self, h: _Handler, method: str, path: str, query: dict, body: bytes, as_json: bool) -> _Reply:
        opts = self.options
        if self._in_outage():  # before anything else: nothing is done, nothing is counted
            if opts.outage_mode == "refuse":
                raise _Dropped("outage")
            return _Reply(503, raw=b"<html><body><h1>503 Service Unavailable</h1></body></html>",
                          content_type="text/html")
        sru = path.startswith("/view/sru/")
        key = self._key_of(h, query)
        if sru:
            pass  # no API key: SRU is open to anyone who can reach it
        elif key not in (self.api_key, self.readonly_key, self.no_acq_key) or (key == self.readonly_key and method != "GET") \
                or (key == self.no_acq_key and path.startswith("/almaws/v1/acq/")):
            return self._error_reply(400, "UNAUTHORIZED", UNAUTHORIZED_MESSAGE, as_json, tracking=False)
        arrived = h.arrived  # (see _Handler.parse_request)
        with self._gate_lock:
            if sru and not opts.sru_counts_against_thresholds:
                limit = None
            else:
                limit = opts.daily_limit if opts.daily_limit is not None else DEFAULT_DAILY_LIMIT
            if limit is None:
                pass
            elif self._daily_used >= limit:
                return self._error_reply(429, "DAILY_THRESHOLD", "Daily threshold has been reached.", as_json)
            elif opts.rate_limit:  # at most rate_limit arrivals in any one second
                if not self._window.admit(arrived, opts.rate_limit):
                    return self._error_reply(429, "PER_SECOND_THRESHOLD", "HTTP requests are more than allowed per second", as_json)
            if limit is not None:
                self._daily_used += 1
        rng = self._fate(method, path)
        delay = opts.latency_ms + (rng.uniform(-opts.jitter_ms, opts.jitter_ms) if opts.jitter_ms else 0)
        faulty = not opts.fault_methods or method in opts.fault_methods.upper().split(",")
        error = rng.random() < opts.error_rate and faulty
        drop = rng.random() < opts.drop_rate and faulty
        slow = rng.random() < opts.slow_rate and faulty
        if delay > 0:
            time.sleep(delay / 1000)
        if slow and opts.slow_ms:
            time.sleep(opts.slow_ms / 1000)
        if error:
            return self._error_reply(500, "INTERNAL_SERVER_ERROR", "Internal Server Error", as_json)
        if sru:
            reply = self._sru(method, path, query)
            if drop:
                raise _Dropped()
            return reply
        route = None
        path_known = False
        for m, rx, _template, handler in _COMPILED:
            match = rx.match(path)
            if match:
                path_known = True
                if m == method:
                    route = (handler, match.groupdict())
                    break
        if route is None:
            if path_known:
                return self._error_reply(405, "METHOD_NOT_ALLOWED", f"{method} is not supported for {path}.", as_json)
            return self._error_reply(404, "ROUTE_NOT_FOUND", f"No sandbox route for {method} {path}.", as_json)
        handler, params = route
        reply = getattr(self, handler)(params=params, query=query, body=body, headers=h.headers, method=method)
        if drop:
            raise _Dropped()  # the write (if any) has been applied; the answer is lost
        return reply

    # -------------------------------------------------------------- SRU
    @property
    def sru_url(self) -> str:
        """The institution's SRU address, as Ex Libris writes it: ``<host>/view/sru/<INSTITUTION_CODE>``."""
        return f"{self.url}/view/sru/{self.institution_code}"

    def _sru(self, method: str, path: str, query: dict) -> _Reply:
        """``/view/sru/<code>``: searchRetrieve and explain (see :mod:`p2e.sandbox.sru`)."""
        code = path[len("/view/sru/"):].strip("/")
        if not self.options.sru_enabled:
            return _Reply(403, raw=b"<html><body><h1>403 Forbidden</h1><p>SRU is not enabled for this institution.</p></body></html>",
                          content_type="text/html")
        if code != self.institution_code:
            return _Reply(404, raw=b"<html><body><h1>404 Not Found</h1></body></html>", content_type="text/html")
        if method != "GET":
            return _Reply(405, raw=b"<html><body><h1>405 Method Not Allowed</h1></body></html>", content_type="text/html")
        text = sru_server.answer(self.store, self._sru_index, query,
                                 publish_availability=self.options.sru_publish_availability,
                                 database=f"view/sru/{self.institution_code}")
        return _Reply(200, raw=text.encode("utf-8"), content_type="text/xml;charset=UTF-8")

    # -------------------------------------------------------------- routes
    @staticmethod
    def _int(query: dict, name: str, default: int, maximum: int | None = None) -> int:
        raw = query.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SandboxError("40166410", f"The parameter {name} is invalid: {raw}.")
        if value < 0 or (maximum is not None and value > maximum):
            raise SandboxError("40166410", f"The parameter {name} is invalid: {raw}. Valid values are 0-{maximum}.")
        return value

    @staticmethod
    def _is_json_body(headers: Any, body: bytes) -> bool:
        ctype = (headers.get("Content-Type") or "").lower()
        return "json" in ctype or body.lstrip()[:1] in (b"{", b"[")

    def _parse_entity(self, headers: Any, body: bytes) -> dict:
        if not body.strip():
            return {}
        try:
            if self._is_json_body(headers, body):
                data = json.loads(body)
                return data if isinstance(data, dict) else {}
            return xml_to_json(body)
        except (ValueError, ET.ParseError) as exc:
            raise SandboxError("401676", f"Request body is not valid: {exc}.")

    def _test(self, method: str, headers: Any, query: dict, **_: Any) -> _Reply:
        """As published: ``<test>GET - OK - institutionCode: 01ABC_INST</test>``, ``<test>POST - OK</test>``."""
        text = f"GET - OK - institutionCode: {self.institution_code}" if method == "GET" else "POST - OK"
        fmt = (query.get("format") or "").lower()
        if fmt == "json" or (fmt != "xml" and "json" in (headers.get("Accept") or "").lower()):
            return _Reply(200, raw=json.dumps({"test": text}).encode(), content_type="application/json;charset=UTF-8")
        xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><test>{escape(text)}</test>'
        return _Reply(200, raw=xml.encode(), content_type="application/xml;charset=UTF-8")

    def _search_bibs(self, query: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.search_bibs(query), xml_root="bibs")

    def _get_bib(self, params: dict, query: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.get_bib(params["mms_id"], query.get("view") or "full", query.get("expand") or ""), xml_root="bib")

    def _put_bib(self, params: dict, body: bytes, headers: Any, **_: Any) -> _Reply:
        if self._is_json_body(headers, body):
            raise SandboxError("60105", "JSON is not supported for this API.")
        return _Reply(200, self.store.put_bib(params["mms_id"], body.decode("utf-8")), xml_root="bib")

    def _create_bib(self, query: dict, body: bytes, headers: Any, **_: Any) -> _Reply:
        if self._is_json_body(headers, body):
            raise SandboxError("60105", "JSON is not supported for this API.")
        return _Reply(200, self.store.create_bib(body.decode("utf-8"), query.get("from_nz_mms_id") or ""), xml_root="bib")

    def _delete_bib(self, params: dict, query: dict, **_: Any) -> _Reply:
        self.store.delete_bib(params["mms_id"], query.get("override") or "false")
        return _Reply(204)

    def _bib_op(self, params: dict, query: dict, body: bytes, headers: Any, **_: Any) -> _Reply:
        if body.strip() and self._is_json_body(headers, body):
            raise SandboxError("60105", "JSON is not supported for this API.")
        op = query.get("op") or ""
        if op != "unlink_from_nz":
            raise SandboxError("402203" if not params["mms_id"].isdigit() else "40166410",
                            f"The parameter op is invalid: {op or '(missing)'}. Supported: unlink_from_nz.")
        return _Reply(200, self.store.unlink_from_nz(params["mms_id"]), xml_root="bib")

    def _list_holdings(self, params: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.list_holdings(params["mms_id"]), xml_root="holdings")

    def _get_holding(self, params: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.get_holding(params["mms_id"], params["holding_id"]), xml_root="holding")

    def _list_portfolios(self, params: dict, query: dict, **_: Any) -> _Reply:
        limit = self._int(query, "limit", 10, 100)
        offset = self._int(query, "offset", 0)
        return _Reply(200, self.store.list_portfolios(params["mms_id"], limit, offset), xml_root="portfolios")

    def _create_portfolio(self, params: dict, body: bytes, headers: Any, **_: Any) -> _Reply:
        entity = self._parse_entity(headers, body)
        if not entity:
            raise SandboxError("60164", "Portfolio metadata is missing or not valid.")
        return _Reply(200, self.store.create_portfolio(params["mms_id"], entity), xml_root="portfolio")

    def _get_portfolio(self, params: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.get_portfolio(params["mms_id"], params["portfolio_id"]), xml_root="portfolio")

    def _put_portfolio(self, params: dict, body: bytes, headers: Any, **_: Any) -> _Reply:
        entity = self._parse_entity(headers, body)
        if not entity:
            raise SandboxError("60164", "Portfolio metadata is missing or not valid.")
        return _Reply(200, self.store.update_portfolio(params["mms_id"], params["portfolio_id"], entity), xml_root="portfolio")

    def _delete_portfolio(self, params: dict, query: dict, **_: Any) -> _Reply:
        self.store.delete_portfolio(params["mms_id"], params["portfolio_id"], query.get("bib") or "retain")
        return _Reply(204)

    def _search_pols(self, query: dict, **_: Any) -> _Reply:
        limit = self._int(query, "limit", 10, 100)
        offset = self._int(query, "offset", 0)
        return _Reply(200, self.store.search_pols(query.get("q") or "", query.get("status") or "ALL", limit, offset),
                      xml_root="po_lines")

    def _get_pol(self, params: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.get_pol(params["po_line_id"]), xml_root="po_line")

    def _put_pol(self, params: dict, body: bytes, headers: Any, **_: Any) -> _Reply:
        entity = self._parse_entity(headers, body)
        return _Reply(200, self.store.update_pol(params["po_line_id"], entity), xml_root="po_line")

    def _list_collections(self, query: dict, **_: Any) -> _Reply:
        body = self.store.list_collections(self._int(query, "limit", 10, 100), self._int(query, "offset", 0),
                                           query.get("q") or "")
        return _Reply(200, body, xml_root="electronic_collections")

    def _get_collection(self, params: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.get_collection(params["collection_id"]), xml_root="electronic_collection")

    def _create_collection(self, body: bytes, headers: Any, **_: Any) -> _Reply:
        return _Reply(200, self.store.create_collection(self._parse_entity(headers, body)), xml_root="electronic_collection")

    def _list_services(self, params: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.list_services(params["collection_id"]), xml_root="electronic_services")

    def _create_service(self, params: dict, body: bytes, headers: Any, **_: Any) -> _Reply:
        entity = self._parse_entity(headers, body)
        return _Reply(200, self.store.create_service(params["collection_id"], entity), xml_root="electronic_service")

    def _get_service(self, params: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.get_service(params["collection_id"], params["service_id"]), xml_root="electronic_service")

    def _list_service_portfolios(self, params: dict, query: dict, **_: Any) -> _Reply:
        body = self.store.list_service_portfolios(params["collection_id"], params["service_id"],
                                                  self._int(query, "limit", 10, 100), self._int(query, "offset", 0))
        return _Reply(200, body, xml_root="portfolios")

    def _create_service_portfolio(self, params: dict, body: bytes, headers: Any, **_: Any) -> _Reply:
        entity = self._parse_entity(headers, body)
        if not entity:
            raise SandboxError("60164", "Failed to create the Portfolio metadata.")
        return _Reply(200, self.store.create_service_portfolio(params["collection_id"], params["service_id"], entity),
                      xml_root="portfolio")

    def _get_service_portfolio(self, params: dict, **_: Any) -> _Reply:
        return _Reply(200, self.store.get_service_portfolio(params["collection_id"], params["service_id"],
                                                           params["portfolio_id"]), xml_root="portfolio")
