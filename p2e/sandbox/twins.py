"""A generated library with LABELLED twins and decoys, for the suggestion step and its benchmark.

Each row is a P2E title as CARLI's raw report has it: a standalone local portfolio on a bib
with 020 (or 022), 035 (OCoLC) and the Voyager ID, 024 (DOI), 245 and 856 $u. Around it, the
library holds what the row's *kind* says: a Community-Zone-linked twin with an available
portfolio in a CZ collection, or a decoy that must never be taken for one.

>>> lib = generate_twins_library(40, random_seed=3)
>>> sorted({label["kind"] for label in lib.seed["labels"]}) == sorted(TWIN_MIX)
True
>>> {label["expected_action"] for label in lib.seed["labels"]} == {"delete", "relink", "keep", "none"}
True

Labels (``lib.seed["labels"]``, one per row, in row order; also on each row as ``label``)::

    {"row": 3, "voyager_bib_id": "5539966", "mms_id": "99...", "portfolio_id": "53...",
     "kind": "twin", "decoy": "", "expected_action": "delete", "match": "strong",
     "target_mms_id": "99...", "target_portfolio_id": "53...", "po_line": "",
     "identifiers": {"isbn": "978...", "issn": "", "oclc": "8...", "doi": "10...", "title": "..."},
     "collection_id": "61..."}

``expected_action`` is ``delete`` / ``relink`` / ``keep`` / ``none`` (leave the Action empty);
``match`` is ``strong`` / ``weak`` / ``none``; ``decoy`` names the decoy kind ("" for none).
"""
from __future__ import annotations

import random
from typing import Any

from .seed import _ADJ, _AUTH, _NOUN, _TOPIC, COLLECTIONS, PROXY, SEED_FORMAT, Library, _isbn13

# kind -> (weight, expected_action, match, decoy)
TWIN_MIX: dict[str, tuple[int, str, str, str]] = {
    "twin": (44, "delete", "strong", ""),
    "twin_isbn10": (6, "delete", "strong", ""),              # the twin's 020 is the ISBN-10, hyphenated
    "twin_by_oclc_only": (6, "delete", "strong", ""),        # the twin has no ISBN: only 035 (OCoLC) matches
    "journal_twin": (4, "delete", "strong", ""),             # matched on ISSN (022)
    "twin_and_other_edition": (4, "delete", "strong", "other_edition"),  # a decoy beside the true twin
    "twin_open_order": (6, "relink", "strong", ""),          # the P2E portfolio and bib have an open PO line
    "other_edition": (5, "none", "weak", "other_edition"),   # same title, another edition: different ISBN/OCLC
    "print_record": (5, "none", "weak", "print_record"),     # same title, a print record (holding, no portfolio)
    "twin_not_available": (5, "none", "weak", "not_available"),  # CZ twin whose portfolio is Not Available
    "two_twins": (4, "none", "weak", "two_twins"),           # two CZ twins qualify
    "no_twin": (9, "keep", "none", ""),                      # the P2E portfolio is the only access
    "p2e_in_collection": (2, "none", "weak", "not_standalone"),  # the P2E portfolio is not standalone
}
LOCAL_COLLECTION = "UIU Local P2E titles"


def isbn10_of(isbn13: str) -> str:
    """The ISBN-10 of a 978 ISBN-13.

    >>> isbn10_of("9781421400839")
    '1421400839'
    """
    body = isbn13[3:12]
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def _issn(n: int) -> str:
    body = f"{n % 10**7:07d}"
    check = (11 - sum((8 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
    full = body + ("X" if check == 10 else str(check))
    return f"{full[:4]}-{full[4:]}"


def _hyphenated(isbn10: str) -> str:
    return f"{isbn10[0]}-{isbn10[1:5]}-{isbn10[5:9]}-{isbn10[9]}"


def generate_twins_library(rows: int, *, random_seed: int = 1, suffix: str = "12205899",
                           other_id_prefix: str = "(UIUdb)") -> Library:
    """A seed and its raw P2E rows (no actions filled), each row labelled; deterministic from ``random_seed``.

    Every kind in :data:`TWIN_MIX` appears at least once when ``rows`` allows. The seed also has
    the five CZ collections of :func:`generate_library` and one local collection
    (:data:`LOCAL_COLLECTION`) with one e-service, for the group action.
    """
    rng = random.Random(random_seed)
    kinds = list(TWIN_MIX)
    chosen = kinds[:rows] if rows < len(kinds) else list(kinds)
    chosen += rng.choices(kinds, weights=[w for w, *_ in TWIN_MIX.values()], k=max(0, rows - len(chosen)))
    rng.shuffle(chosen)
    collections: list[dict[str, Any]] = [{"id": f"61{100_000 + k}{suffix}", "name": name, "service_id": f"62{100_000 + k}{suffix}"}
                                         for k, (name, _pattern) in enumerate(COLLECTIONS)]
    local_service = f"62{200_000}{suffix}"
    local: dict[str, Any] = {"id": f"61{200_000}{suffix}", "name": LOCAL_COLLECTION, "is_local": True,
                             "services": [{"id": local_service, "public_description": "Full text"}]}
    collections.append(local)
    bibs: list[dict] = []
    portfolios: list[dict] = []
    po_lines: list[dict] = []
    holdings: list[dict] = []
    labels: list[dict] = []
    out_rows: list[dict] = []
    used_titles: set[str] = set()
    counter = {"pid": 1_000_000, "cz": 0, "pol": 100_000, "hold": 1_000_000}
    bib_ids = rng.sample(range(100_000, 9_999_999), rows) if rows else []

    def new_pid() -> str:
        counter["pid"] += 1
        return f"53{counter['pid']}{suffix}"

    def cz_bib(title: str, *, isbns: list[str], oclc: str, issn: str = "", edition: str = "",
               availability: str = "11", coll: dict) -> tuple[str, str]:
        counter["cz"] += 1
        n = counter["cz"]
        mms, cz_id = f"99{100_000_000 + n}{suffix}", f"99{5_000_000_000 + n}0101"
        nns = [f"(EXLCZ){cz_id}"] + ([f"(OCoLC){oclc}"] if oclc else [])
        rec: dict[str, Any] = {"mms_id": mms, "title": title, "isbns": isbns, "linked_record_id": {"value": cz_id, "type": "CZ"},
                               "network_numbers": nns, "originating_system": "CZ"}
        if issn:
            rec["issn"] = issn
        if edition:
            rec["edition"] = edition
        bibs.append(rec)
        pid = new_pid()
        portfolios.append({"id": pid, "mms_id": mms, "is_local": False, "is_standalone": False, "collection_id": coll["id"],
                           "service_id": coll["service_id"], "availability": availability, "url": "",
                           "coverage": "Available from 2010"})
        return mms, pid

    for i, (kind, bib) in enumerate(zip(chosen, bib_ids)):
        _weight, action, match, decoy = TWIN_MIX[kind]
        bib_s = str(bib)
        mms = f"99{bib_s}{suffix}"
        r = rng.random
        title = f"{_ADJ[int(r() * len(_ADJ))]} {_NOUN[int(r() * len(_NOUN))]} of {_TOPIC[int(r() * len(_TOPIC))]}"
        base, k = title, 1
        while title.lower() in used_titles:
            k += 1
            title = f"{base} : volume {k}"
        used_titles.add(title.lower())
        author = _AUTH[int(r() * len(_AUTH))]
        journal = kind == "journal_twin"
        isbn = "" if journal else _isbn13(bib * 7919 + i)
        issn = _issn(bib * 31 + i) if journal else ""
        oclc = f"ocn{800_000_000 + bib}"  # what the report's OCLC column shows (p2e/sandbox/workbook.py)
        doi = f"10.{5000 + i % 4000}/p2e.{bib_s}"
        ck = int(r() * len(COLLECTIONS))
        coll = collections[ck]
        target_url = COLLECTIONS[ck][1].format(n=100_000 + int(r() * 9_000_000))
        url = PROXY + target_url
        p2e_bib: dict[str, Any] = {"mms_id": mms, "title": title, "author": author,
                                   "isbns": [f"{isbn} (electronic bk.)"] if isbn else [], "doi": doi,
                                   "network_numbers": [other_id_prefix + bib_s, f"(OCoLC){oclc}"], "url": url,
                                   "originating_system_id": bib_s}
        if issn:
            p2e_bib["issn"] = issn
        p2e_pid = new_pid()
        p2e_port: dict[str, Any] = {"id": p2e_pid, "mms_id": mms, "url": url}
        target_mms = target_pid = pol = po_number = ""
        if kind in ("twin", "twin_and_other_edition", "twin_open_order", "journal_twin"):
            target_mms, target_pid = cz_bib(title, isbns=[isbn] if isbn else [], oclc=oclc, issn=issn, coll=coll)
        elif kind == "twin_isbn10":
            target_mms, target_pid = cz_bib(title, isbns=[_hyphenated(isbn10_of(isbn)) + " (ebook)"], oclc=oclc, coll=coll)
        elif kind == "twin_by_oclc_only":
            target_mms, target_pid = cz_bib(title, isbns=[], oclc=oclc, coll=coll)
        elif kind == "twin_not_available":
            cz_bib(title, isbns=[isbn], oclc=oclc, availability="10", coll=coll)
        elif kind == "two_twins":
            cz_bib(title, isbns=[isbn], oclc=oclc, coll=coll)
            cz_bib(title, isbns=[isbn], oclc="", coll=collections[(ck + 1) % len(COLLECTIONS)])
        if kind in ("other_edition", "twin_and_other_edition"):
            other = _isbn13(bib * 7919 + i + 500_000_000)
            cz_bib(title, isbns=[other], oclc=f"ocn{700_000_000 + bib}", edition="2nd ed.",
                   coll=collections[(ck + 2) % len(COLLECTIONS)])
        if kind == "print_record":
            counter["cz"] += 1
            print_mms = f"99{300_000_000 + counter['cz']}{suffix}"
            bibs.append({"mms_id": print_mms, "title": title, "author": author, "form": "print",
                         "isbns": [f"{isbn10_of(_isbn13(bib * 7919 + i + 700_000_000))} (pbk.)"],
                         "network_numbers": [f"(OCoLC)ocm{600_000_000 + bib}"]})
            counter["hold"] += 1
            holdings.append({"id": f"22{counter['hold']}{suffix}", "mms_id": print_mms, "library": "MAIN", "location": "stacks"})
        if kind == "twin_open_order":
            counter["pol"] += 1
            pol, po_number = f"POL-{counter['pol']}", f"PO-{counter['pol'] - 90_000}"
            po_lines.append({"number": pol, "status": "ACTIVE", "mms_id": mms, "title": title, "isbn": isbn,
                             "po_number": po_number, "url": target_url})
            p2e_port["po_line"] = pol
        if kind == "p2e_in_collection":
            cz_bib(title, isbns=[isbn], oclc=oclc, coll=coll)
            p2e_port.update(is_standalone=False, collection_id=local["id"], service_id=local_service)
            # a twin exists, but the P2E portfolio is not a standalone one: no target
        bibs.append(p2e_bib)
        portfolios.append(p2e_port)
        label = {"row": i + 1, "voyager_bib_id": bib_s, "mms_id": mms, "portfolio_id": p2e_pid, "kind": kind,
                 "decoy": decoy, "expected_action": action, "match": match,
                 "target_mms_id": target_mms if action in ("delete", "relink") else "",
                 "target_portfolio_id": target_pid if action in ("delete", "relink") else "",
                 "po_line": pol, "collection_id": coll["id"] if action in ("delete", "relink") else "",
                 "identifiers": {"isbn": isbn, "issn": issn, "oclc": oclc, "doi": doi, "title": title}}
        labels.append(label)
        out_rows.append({"voyager_bib_id": bib_s, "title": title, "url": url, "isbn": isbn or issn,
                         "location": "UIU Online Resources", "mms_id": mms, "portfolio_id": p2e_pid, "action": "",
                         "bib_handling": "", "target_mms_id": "", "target_portfolio_id": "", "po_line": "",
                         "po_number": po_number, "expected_outcome": action, "expected_bib": match,
                         "scenario": kind, "label": label})
    seed = {"format": SEED_FORMAT, "institution_suffix": suffix, "other_id_prefix": other_id_prefix,
            "bibs": bibs, "portfolios": portfolios, "po_lines": po_lines, "holdings": holdings,
            "e_collections": collections, "labels": labels}
    return Library(seed=seed, rows=out_rows, suffix=suffix, other_id_prefix=other_id_prefix)


def score(labels: list[dict], suggestions: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Precision and recall of delete and relink suggestions against the labels.

    ``suggestions``: P2E portfolio ID -> (action, target MMS ID); an empty action (or a row left
    out) is "nothing suggested". A suggestion counts as right only with the label's action
    **and** target. ``decoys_deleted`` lists the rows suggested for delete that the labels do
    not call a delete of that target (it must be empty).

    >>> labels = [{"portfolio_id": "531", "expected_action": "delete", "target_mms_id": "991", "kind": "twin"},
    ...           {"portfolio_id": "532", "expected_action": "none", "target_mms_id": "", "kind": "two_twins"}]
    >>> s = score(labels, {"531": ("delete", "991"), "532": ("delete", "995")})
    >>> s["delete"], s["decoys_deleted"]
    ({'suggested': 2, 'right': 1, 'expected': 1, 'precision': 0.5, 'recall': 1.0}, ['532 (two_twins)'])
    """
    out: dict[str, Any] = {}
    for action in ("delete", "relink"):
        expected = [lab for lab in labels if lab["expected_action"] == action]
        suggested = [lab for lab in labels if suggestions.get(lab["portfolio_id"], ("", ""))[0] == action]
        right = [lab for lab in suggested if lab["expected_action"] == action
                 and suggestions[lab["portfolio_id"]][1] == lab["target_mms_id"]]
        out[action] = {"suggested": len(suggested), "right": len(right), "expected": len(expected),
                       "precision": round(len(right) / len(suggested), 4) if suggested else 1.0,
                       "recall": round(len(right) / len(expected), 4) if expected else 1.0}
    out["decoys_deleted"] = [f"{lab['portfolio_id']} ({lab['kind']})" for lab in labels
                             if suggestions.get(lab["portfolio_id"], ("", ""))[0] == "delete"
                             and not (lab["expected_action"] == "delete"
                                      and suggestions[lab["portfolio_id"]][1] == lab["target_mms_id"])]
    out["keep"] = {"suggested": sum(1 for lab in labels if suggestions.get(lab["portfolio_id"], ("", ""))[0] == "keep"),
                   "right": sum(1 for lab in labels if lab["expected_action"] == "keep"
                                and suggestions.get(lab["portfolio_id"], ("", ""))[0] == "keep"),
                   "expected": sum(1 for lab in labels if lab["expected_action"] == "keep")}
    return out
