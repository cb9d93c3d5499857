"""The identifiers that say two records are the same title, each in one normal form.

A P2E record and its Community Zone twin rarely write an identifier the same way: an ISBN-10
on one and an ISBN-13 on the other, hyphens, a qualifier such as "(pbk.)", an OCLC number
with or without its ``ocm``/``ocn``/``on`` prefix, a URL behind the library's proxy. Each
function here returns one normal form, or None when the text is not a valid identifier of
that kind (a wrong check digit is not an identifier: it never makes a match).

>>> isbn13("0-8018-9489-1 (pbk.)"), isbn13("978-0-8018-9489-3"), isbn13("080189489X")
('9780801894893', '9780801894893', None)
>>> issn("0028-0836"), issn("0028-0837")
('0028-0836', None)
>>> oclc("(OCoLC)ocm01234567"), oclc("ocn190789234"), oclc("on1234567890"), oclc("(OCoLC)190789234")
('1234567', '190789234', '1234567890', '190789234')
>>> link("http://proxy2.library.illinois.edu/login?url=https://www.jstor.org/stable/10.2307/j.ctt1")
'jstor.org/stable/10.2307/j.ctt1'
>>> title_key("The Hidden history of jazz : a study /")
'hidden history of jazz a study'
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

_ISBN_CANDIDATE = re.compile(r"(97[89][\d\- ]{10,14}|[\dXx][\d\-Xx ]{8,12}[\dXx])")


def _isbn10_ok(digits: str) -> bool:
    total = sum((10 - i) * (10 if c in "Xx" else int(c)) for i, c in enumerate(digits))
    return total % 11 == 0


def _isbn13_check(first12: str) -> str:
    total = sum((1 if i % 2 == 0 else 3) * int(d) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def isbn13(text: object) -> str | None:
    """The ISBN-13 a cell or a MARC 020 $a names, or None.

    Hyphens, spaces and qualifiers ("(pbk.)", ": $25.00", "electronic bk.") are dropped; an ISBN-10 is
    turned into its ISBN-13; a wrong check digit is not an ISBN.

    >>> isbn13("9781421400839 (electronic bk.)"), isbn13("1421400839"), isbn13("978-1-4214-0083-8")
    ('9781421400839', '9781421400839', None)
    """
    if text is None:
        return None
    raw = str(text).strip()
    for match in _ISBN_CANDIDATE.finditer(raw):
        digits = re.sub(r"[\s\-]", "", match.group(0)).upper()
        if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
            if _isbn13_check(digits[:12]) == digits[12]:
                return digits
        elif len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
            if _isbn10_ok(digits):
                body = "978" + digits[:9]
                return body + _isbn13_check(body)
    return None


def isbns(text: object) -> set[str]:
    """Every ISBN in a cell that may hold several ("0801894891; 9780801894898 (pbk.)")."""
    if text is None:
        return set()
    found = set()
    for part in re.split(r"[;,|/\n]+", str(text)):
        value = isbn13(part)
        if value:
            found.add(value)
    return found


def issn(text: object) -> str | None:
    """The ISSN a cell or a MARC 022 $a names, as NNNN-NNNC, or None (a wrong check digit is no ISSN).

    >>> issn("issn 1234-5679"), issn("00280836")
    ('1234-5679', '0028-0836')
    """
    if text is None:
        return None
    match = re.search(r"(\d{4})\s*-?\s*(\d{3}[\dXx])", str(text))
    if not match:
        return None
    digits = (match.group(1) + match.group(2)).upper()
    total = sum((8 - i) * int(c) for i, c in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    if ("X" if check == 10 else str(check)) != digits[7]:
        return None
    return f"{digits[:4]}-{digits[4:]}"


def issns(text: object) -> set[str]:
    if text is None:
        return set()
    return {value for part in re.split(r"[;,|/\n]+", str(text)) if (value := issn(part))}


_OCLC = re.compile(r"^\s*(?:\(ocolc\))?\s*(?:ocm|ocn|on)?\s*0*(\d{1,12})\s*$", re.IGNORECASE)


def oclc(text: object) -> str | None:
    """An OCLC number without its prefix ((OCoLC), ocm, ocn, on) or leading zeros, or None.

    A 035 from another source ("(UIUdb)5539966", "(EXLCZ)99…") is not an OCLC number.

    >>> oclc("(UIUdb)5539966"), oclc("ocm00012345"), oclc(" 12345 ")
    (None, '12345', '12345')
    """
    if text is None:
        return None
    match = _OCLC.match(str(text))
    return match.group(1) if match else None


def oclc_from_035(text: object) -> str | None:
    """An OCLC number from a MARC 035 $a: only "(OCoLC)…" (and Alma's bare ocm/ocn/on forms) count.

    >>> oclc_from_035("(OCoLC)ocn190789234"), oclc_from_035("ocm12345"), oclc_from_035("5539966")
    ('190789234', '12345', None)
    """
    value = str(text or "").strip()
    if value.lower().startswith("(ocolc)") or re.match(r"^(ocm|ocn|on)\d", value, re.IGNORECASE):
        return oclc(value)
    return None


def doi(text: object) -> str | None:
    """A DOI ("10.xxxx/…") in a cell, a MARC 024 or a URL, lower case, or None.

    >>> doi("https://doi.org/10.1007/978-1-4614-1234-5"), doi("doi:10.2307/J.CTT1")
    ('10.1007/978-1-4614-1234-5', '10.2307/j.ctt1')
    """
    match = re.search(r"(10\.\d{4,9}/[^\s\"<>]+)", unquote(str(text or "")))
    return match.group(1).rstrip(".,;").lower() if match else None


def link(url: object) -> str | None:
    """A URL reduced to what names the resource: host (no www.) + path (+ query), behind any proxy.

    EZproxy's "login?url=" and "qurl=" prefixes are removed, so a P2E 856 written behind the proxy
    matches the same address written without it.

    >>> link("https://ebookcentral.proquest.com/lib/uiuc/detail.action?docID=123")
    'ebookcentral.proquest.com/lib/uiuc/detail.action?docid=123'
    """
    text = str(url or "").strip()
    for _ in range(3):  # a proxy in front of a proxy
        parts = urlsplit(text)
        inner = next((v for k, v in parse_qsl(parts.query) if k.lower() in ("url", "qurl")), None)
        if not (inner and "login" in parts.path.lower()):
            break
        text = inner
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if not host or "." not in host:
        return None
    host = host[4:] if host.startswith("www.") else host
    path = unquote(parts.path).rstrip("/")
    query = f"?{parts.query.lower()}" if parts.query else ""
    return f"{host}{path}{query}"


_ARTICLES = ("the ", "a ", "an ")


def title_key(text: object) -> str:
    """A title as a match key: lower case, no accents or punctuation, no leading article."""
    value = unicodedata.normalize("NFKD", str(text or ""))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    value = " ".join(re.sub(r"[^\w\s]+", " ", value).split())
    for article in _ARTICLES:
        if value.startswith(article):
            value = value[len(article):]
            break
    return value


@dataclass
class Identifiers:
    """Every identifier of one record, normalised: what matching compares.

    ``isbns`` ISBN-13s; ``issns`` NNNN-NNNC; ``oclc`` bare numbers; ``links`` DOIs and reduced URLs;
    ``title`` a title key (a title alone never makes a strong match).
    """

    isbns: set[str] = field(default_factory=set)
    issns: set[str] = field(default_factory=set)
    oclc: set[str] = field(default_factory=set)
    links: set[str] = field(default_factory=set)
    title: str = ""

    def strong_keys(self) -> set[tuple[str, str]]:
        """(kind, value) pairs that identify a title on their own: ISBN, ISSN, OCLC number, DOI/URL path."""
        return ({("isbn", v) for v in self.isbns} | {("issn", v) for v in self.issns}
                | {("oclc", v) for v in self.oclc} | {("link", v) for v in self.links})

    def merge(self, other: "Identifiers") -> None:
        self.isbns |= other.isbns
        self.issns |= other.issns
        self.oclc |= other.oclc
        self.links |= other.links
        self.title = self.title or other.title


KIND_WORDS = {"isbn": "ISBN", "issn": "ISSN", "oclc": "OCLC number", "link": "link"}


def shared(a: Identifiers, b: Identifiers) -> list[tuple[str, str]]:
    """The strong identifiers two records have in common, in a fixed order (ISBN, ISSN, OCLC, link).

    >>> shared(Identifiers(isbns={"9781421400839"}), Identifiers(isbns={"9781421400839"}, oclc={"1"}))
    [('isbn', '9781421400839')]
    """
    order = list(KIND_WORDS)
    return sorted(a.strong_keys() & b.strong_keys(), key=lambda kv: (order.index(kv[0]), kv[1]))


def conflicts(a: Identifiers, b: Identifiers) -> list[str]:
    """The kinds of strong identifier both records have but share none of: another edition, or another format.

    >>> conflicts(Identifiers(isbns={"9780801894893"}, oclc={"5"}), Identifiers(isbns={"9781421400839"}, oclc={"5"}))
    ['isbn']
    """
    out = []
    for kind, mine, theirs in (("isbn", a.isbns, b.isbns), ("issn", a.issns, b.issns), ("oclc", a.oclc, b.oclc)):
        if mine and theirs and not (mine & theirs):
            out.append(kind)
    return out
