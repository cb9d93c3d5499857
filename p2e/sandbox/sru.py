"""The sandbox's SRU server: ``GET /view/sru/<INSTITUTION_CODE>``, as Alma publishes it (SRU 1.2).

    /view/sru/01CARLI_SANDBOX?version=1.2&operation=searchRetrieve&query=alma.isbn=9781584351269
        &startRecord=1&maximumRecords=10&recordSchema=marcxml

No API key. The records are the store's bibs (the same ones the REST side serves), in MARC21
slim, with AVE fields when availability is published. Bad requests get SRU diagnostics (HTTP 200,
as SRU 1.2 does). The CQL subset: ``index relation term`` with relations ``=``, ``==``, ``all``,
``any``; ``and``, ``or``; parentheses; quoted terms.

>>> parse_cql('alma.isbn="9781584351269" or (alma.title all "aliens anorexia" and alma.issn=1234-5678)')
('or', ('alma.isbn', '=', '9781584351269'), ('and', ('alma.title', 'all', 'aliens anorexia'), ('alma.issn', '=', '1234-5678')))
>>> parse_cql('alma.isbn=')
Traceback (most recent call last):
...
p2e.sandbox.sru.Diagnostic: 10 Query syntax error: a search term is missing after '='
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from .store import Store

SRW = "http://www.loc.gov/zing/srw/"
DIAG = "http://www.loc.gov/zing/srw/diagnostic/"
MARC = "http://www.loc.gov/MARC21/slim"
INDEXES = ("alma.isbn", "alma.issn", "alma.oclc_control_number_035_a", "alma.other_system_number", "alma.title",
           "alma.mms_id", "alma.portfolio_pid")
RELATIONS = ("=", "==", "all", "any")
DEFAULT_MAXIMUM = 10
MAXIMUM = 50
DIAGNOSTICS = {1: "General system error", 4: "Unsupported operation", 5: "Unsupported version",
               6: "Unsupported parameter value", 7: "Mandatory parameter not supplied", 10: "Query syntax error",
               16: "Unsupported index", 19: "Unsupported relation", 37: "Unsupported boolean operator",
               61: "First record position out of range", 66: "Unknown schema for retrieval"}


class Diagnostic(Exception):
    """An SRU diagnostic (info:srw/diagnostic/1/<number>)."""

    def __init__(self, number: int, details: str = ""):
        super().__init__(f"{number} {DIAGNOSTICS[number]}" + (f": {details}" if details else ""))
        self.number, self.details = number, details


# ---------------------------------------------------------------------- CQL
_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|(==|=|<>|<=|>=|<|>)|([^\s()"=<>]+))')


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise Diagnostic(10, f"cannot read the query at '{text[pos:pos + 20]}'")
        pos = m.end()
        if m.group(1):
            out.append(("(", "("))
        elif m.group(2):
            out.append((")", ")"))
        elif m.group(3) is not None:
            out.append(("term", re.sub(r"\\(.)", r"\1", m.group(3))))
        elif m.group(4):
            out.append(("rel", m.group(4)))
        else:
            out.append(("word", m.group(5)))
    return out


def parse_cql(text: str) -> tuple:
    """A CQL query as a tree: ``(index, relation, term)`` leaves under ``('and'|'or', left, right)``."""
    tokens = _tokens(text)
    if not tokens:
        raise Diagnostic(7, "query")
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def clause() -> tuple:
        tok = peek()
        if tok is None:
            raise Diagnostic(10, "the query ends too early")
        if tok[0] == "(":
            take()
            inner = scoped()
            if peek() is None or peek()[0] != ")":  # type: ignore[index]
                raise Diagnostic(10, "a ')' is missing")
            take()
            return inner
        if tok[0] not in ("word", "term"):
            raise Diagnostic(10, f"unexpected '{tok[1]}'")
        first = take()[1]
        nxt = peek()
        if nxt is None or nxt[0] == ")" or (nxt[0] == "word" and nxt[1].lower() in ("and", "or", "not", "prox")):
            raise Diagnostic(16, "cql.serverChoice (name an index, for example alma.title)")
        if nxt[0] == "rel" or (nxt[0] == "word" and nxt[1].lower() in ("all", "any", "adj", "within", "exact")):
            relation = take()[1].lower()
        else:
            raise Diagnostic(10, f"a relation is missing after '{first}'")
        term = peek()
        if term is None or term[0] not in ("word", "term"):
            raise Diagnostic(10, f"a search term is missing after '{relation}'")
        take()
        if first.lower() not in INDEXES:
            raise Diagnostic(16, first)
        if relation not in RELATIONS:
            raise Diagnostic(19, relation)
        return (first.lower(), relation, term[1])

    def scoped() -> tuple:
        left = clause()
        while True:
            tok = peek()
            if tok is None or tok[0] == ")":
                return left
            if tok[0] != "word" or tok[1].lower() not in ("and", "or", "not", "prox"):
                raise Diagnostic(10, f"'and' or 'or' expected before '{tok[1]}'")
            op = take()[1].lower()
            if op not in ("and", "or"):
                raise Diagnostic(37, op)
            left = (op, left, clause())

    tree = scoped()
    if pos != len(tokens):
        raise Diagnostic(10, f"unexpected '{tokens[pos][1]}'")
    return tree


# ---------------------------------------------------------------------- normalising
def _words(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", text.lower())


def _isbn(text: str) -> str:
    m = re.match(r"\s*([0-9Xx][0-9Xx\- ]*)", text or "")
    return re.sub(r"[^0-9X]", "", m.group(1).upper()) if m else ""


def _issn(text: str) -> str:
    return re.sub(r"[^0-9X]", "", (text or "").upper())[:8]


def _oclc(text: str) -> str:
    t = re.sub(r"^\(ocolc\)", "", (text or "").strip().lower())
    t = re.sub(r"^(ocm|ocn|on)", "", t)
    return t.lstrip("0") if t.isdigit() else ""


class SruIndex:
    """The searchable keys of every bib, rebuilt when the store's bibs change."""

    def __init__(self) -> None:
        self.version = -1
        self.keys: dict[str, dict[str, set[str]]] = {}
        self.titles: dict[str, tuple[str, set[str]]] = {}
        self.order: list[str] = []

    def refresh(self, store: "Store") -> None:
        if self.version == store.bib_version:
            return
        keys: dict[str, dict[str, set[str]]] = {name: {} for name in INDEXES}
        titles: dict[str, tuple[str, set[str]]] = {}
        for mms, rec in store.bibs.items():
            record = ET.fromstring(store.marc_record(rec))
            found: dict[str, set[str]] = {name: set() for name in INDEXES}
            found["alma.mms_id"].add(mms)
            title = ""
            for df in record.iter("datafield"):
                tag = df.get("tag")
                subs = [(sf.get("code"), (sf.text or "").strip()) for sf in df.iter("subfield")]
                a = [v for c, v in subs if c == "a" and v]
                if tag == "020":
                    found["alma.isbn"].update(filter(None, map(_isbn, a)))
                elif tag == "022":
                    found["alma.issn"].update(filter(None, map(_issn, a)))
                elif tag == "035":
                    for v in a:
                        found["alma.other_system_number"].add(v.lower())
                        if v.lower().startswith("(ocolc)") and _oclc(v):
                            found["alma.oclc_control_number_035_a"].add(_oclc(v))
                elif tag == "245":
                    title = " ".join(v for c, v in subs if c in ("a", "b") and v)
            for name, values in found.items():
                for v in values:
                    keys[name].setdefault(v, set()).add(mms)
            titles[mms] = (" ".join(_words(title)), set(_words(title)))
        self.keys, self.titles, self.order = keys, titles, list(store.bibs)
        self.version = store.bib_version

    def search(self, store: "Store", tree: tuple) -> set[str]:
        op = tree[0]
        if op in ("and", "or"):
            left, right = self.search(store, tree[1]), self.search(store, tree[2])
            return left & right if op == "and" else left | right
        index, relation, term = tree
        if index == "alma.title":
            words = _words(term)
            if not words:
                return set()
            if relation == "==":
                phrase = " ".join(words)
                return {m for m, (full, _) in self.titles.items() if full == phrase}
            test = any if relation == "any" else all
            return {m for m, (_, ws) in self.titles.items() if test(w in ws for w in words)}
        if index == "alma.portfolio_pid":
            rec = store.portfolios.get(term.strip())
            return {rec["mms_id"]} if rec else set()
        values = term.split() if relation in ("any", "all") else [term]
        norm = {"alma.isbn": _isbn, "alma.issn": _issn, "alma.oclc_control_number_035_a": _oclc,
                "alma.other_system_number": lambda v: v.strip().lower(), "alma.mms_id": lambda v: v.strip()}[index]
        hits = [self.keys[index].get(norm(v), set()) for v in values if norm(v)]
        if not hits:
            return set()
        if relation == "all":
            return set.intersection(*hits)
        return set().union(*hits)


# ---------------------------------------------------------------------- answers
def _x(text: Any) -> str:
    return escape("" if text is None else str(text))


def _diagnostic_xml(d: Diagnostic) -> str:
    return (f'<diagnostics><diag:diagnostic xmlns:diag="{DIAG}"><diag:uri>info:srw/diagnostic/1/{d.number}</diag:uri>'
            + (f"<diag:details>{_x(d.details)}</diag:details>" if d.details else "")
            + f"<diag:message>{_x(DIAGNOSTICS[d.number])}</diag:message></diag:diagnostic></diagnostics>")


def _int(query: dict, name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    if not str(raw).isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        raise Diagnostic(6, name)
    return int(raw)


def answer(store: "Store", index: SruIndex, query: dict, *, publish_availability: bool, database: str) -> str:
    """The XML text for one SRU request (``query``: its parameters, first value of each)."""
    operation = query.get("operation") or "explain"
    try:
        version = query.get("version")
        if operation == "explain":
            if version not in (None, "", "1.2"):
                raise Diagnostic(5, str(version))
            return _explain(database)
        if operation != "searchRetrieve":
            raise Diagnostic(4, operation)
        if version in (None, ""):
            raise Diagnostic(7, "version")
        if version != "1.2":
            raise Diagnostic(5, str(version))
        if not (query.get("query") or "").strip():
            raise Diagnostic(7, "query")
        if (query.get("recordSchema") or "marcxml") != "marcxml":
            raise Diagnostic(66, str(query.get("recordSchema")))
        if (query.get("recordPacking") or "xml") != "xml":
            raise Diagnostic(6, "recordPacking")
        start = _int(query, "startRecord", 1, 1, None)
        maximum = _int(query, "maximumRecords", DEFAULT_MAXIMUM, 0, MAXIMUM)
        tree = parse_cql(query["query"])
        with store.lock:
            index.refresh(store)
            hits = index.search(store, tree)
            ordered = [m for m in index.order if m in hits and m in store.bibs]
            if ordered and start > len(ordered):
                raise Diagnostic(61, str(start))
            page = ordered[start - 1:start - 1 + maximum]
            records = [_record(store, m, start + i, publish_availability) for i, m in enumerate(page)]
    except Diagnostic as d:
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="no"?><searchRetrieveResponse xmlns="{SRW}">'
                f"<version>1.2</version><numberOfRecords>0</numberOfRecords>{_diagnostic_xml(d)}</searchRetrieveResponse>")
    following = start + len(page)
    nxt = f"<nextRecordPosition>{following}</nextRecordPosition>" if following <= len(ordered) and page else ""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S%z")
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="no"?><searchRetrieveResponse xmlns="{SRW}">'
            f"<version>1.2</version><numberOfRecords>{len(ordered)}</numberOfRecords>"
            + (f"<records>{''.join(records)}</records>" if records else "") + nxt
            + '<extraResponseData xmlns:xb="http://com/exlibris/urm/repository/export/xmlbeans">'
            f"<xb:exact>true</xb:exact><xb:responseDate>{stamp}</xb:responseDate></extraResponseData>"
            "</searchRetrieveResponse>")


def _record(store: "Store", mms: str, position: int, publish_availability: bool) -> str:
    marc = store.marc_record(store.bibs[mms], "e_avail" if publish_availability else "")
    marc = re.sub(r"^<record\b[^>]*>", f'<record xmlns="{MARC}">', marc, count=1)
    return ("<record><recordSchema>marcxml</recordSchema><recordPacking>xml</recordPacking>"
            f"<recordData>{marc}</recordData><recordIdentifier>{_x(mms)}</recordIdentifier>"
            f"<recordPosition>{position}</recordPosition></record>")


def _explain(database: str) -> str:
    indexes = "".join(
        f'<index><title>{name.split(".", 1)[1]}</title><map><name set="alma">{name.split(".", 1)[1]}</name></map>'
        + "".join(f'<configInfo><supports type="relation">{_x(r)}</supports></configInfo>' for r in RELATIONS)
        + "</index>" for name in INDEXES)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="no"?><explainResponse xmlns="{SRW}"><version>1.2</version>'
            "<record><recordSchema>http://explain.z3950.org/dtd/2.0/</recordSchema><recordPacking>xml</recordPacking>"
            '<recordData><explain xmlns="http://explain.z3950.org/dtd/2.0/">'
            f'<serverInfo protocol="SRU" version="1.2"><database>{_x(database)}</database></serverInfo>'
            f'<indexInfo><set identifier="info:srw/cql-context-set/15/alma" name="alma"/>{indexes}</indexInfo>'
            '<schemaInfo><schema identifier="info:srw/schema/1/marcxml-v1.1" name="marcxml"><title>MARC XML</title></schema></schemaInfo>'
            f'<configInfo><default type="numberOfRecords">{DEFAULT_MAXIMUM}</default>'
            f'<setting type="maximumRecords">{MAXIMUM}</setting></configInfo>'
            "</explain></recordData></record></explainResponse>")


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in pairs:
        out.setdefault(k, v)
    return out
