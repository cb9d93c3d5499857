"""A small labelled library for the suggestion tests: one P2E row per rule and per decoy kind.

Each row: (label, BIB_ID, what the suggestion must be). The Community Zone collection
'Academic Complete' holds the twins and the decoys; the P2E bibs are standalone local portfolios.
"""
from __future__ import annotations

from pathlib import Path

import openpyxl

SUFFIX = "12205899"
COLLECTION_ID, SERVICE_ID = f"61100000{SUFFIX}", f"62100000{SUFFIX}"
OTHER_ID, OTHER_SERVICE = f"61100001{SUFFIX}", f"62100001{SUFFIX}"
COLLECTION = "Academic Complete"


def isbn13(n: int) -> str:
    body = f"978{n:09d}"
    total = sum((1 if i % 2 == 0 else 3) * int(d) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def isbn10_of(isbn: str) -> str:
    body = isbn[3:12]
    total = sum((10 - i) * int(c) for i, c in enumerate(body))
    check = (11 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def mms(bib: int) -> str:
    return f"99{bib}{SUFFIX}"


# label -> expected (action, match)
EXPECTED = {
    "isbn": ("delete", "strong"),
    "oclc_only": ("delete", "strong"),
    "open_order": ("relink", "strong"),
    "other_edition": (None, "weak"),
    "print_same_title": ("keep", "none"),      # the print record is in no collection: the collection route cannot see it
    "not_available": (None, "weak"),
    "two_twins": (None, "weak"),
    "no_twin": ("keep", "none"),
    "staff_gave_cz": (None, "weak"),
    "title_only": (None, "weak"),
}


def build() -> tuple[dict, list[dict]]:
    """(seed, rows): rows in EXPECTED's order, each {label, bib_id, mms_id, title, isbn, oclc, url, ...}."""
    bibs, portfolios, po_lines, holdings = [], [], [], []
    rows: list[dict] = []
    pid = [5310000]
    cz = [100000]

    def portfolio(mms_id, **kw):
        pid[0] += 1
        p = {"id": f"53{pid[0]}{SUFFIX}", "mms_id": mms_id, **kw}
        portfolios.append(p)
        return p["id"]

    def cz_twin(title, isbn="", oclc="", available=True, collection=COLLECTION_ID, service=SERVICE_ID):
        cz[0] += 1
        mms_id = f"99{cz[0]}000{SUFFIX}"
        numbers = [f"(EXLCZ)99{cz[0]}0101"] + ([f"(OCoLC)ocm{oclc}"] if oclc else [])
        bibs.append({"mms_id": mms_id, "title": title, "isbn": isbn, "network_numbers": numbers,
                     "linked_record_id": {"value": f"99{cz[0]}0101", "type": "CZ"}, "originating_system": "CZ"})
        return mms_id, portfolio(mms_id, is_local=False, is_standalone=False, collection_id=collection,
                                 service_id=service, availability="11" if available else "10", url="")

    for n, label in enumerate(EXPECTED):
        bib = 5000001 + n
        title = f"Quiet rivers volume {n}"
        isbn = isbn13(421400000 + n)
        oclc = str(190789000 + n)
        url = f"http://proxy2.library.illinois.edu/login?url=https://muse.jhu.edu/book/{7000 + n}"
        row = {"label": label, "bib_id": str(bib), "mms_id": mms(bib), "title": title, "isbn": isbn, "oclc": oclc,
               "url": url, "target_mms_id": "", "target_portfolio_id": "", "po_line": ""}
        p2e = {"mms_id": mms(bib), "title": title, "isbn": isbn, "network_numbers": [f"(UIUdb){bib}", f"(OCoLC)ocn{oclc}"],
               "url": url, "originating_system_id": str(bib)}
        if label == "oclc_only":
            p2e["isbn"] = row["isbn"] = ""
        bibs.append(p2e)
        row["portfolio_id"] = portfolio(mms(bib), url=url)
        if label == "isbn":
            row["target_mms_id"], row["target_portfolio_id"] = cz_twin(title, isbn=isbn10_of(isbn))
        elif label == "oclc_only":
            row["target_mms_id"], row["target_portfolio_id"] = cz_twin(title + " [electronic resource]", oclc=oclc)
        elif label == "open_order":
            row["target_mms_id"], row["target_portfolio_id"] = cz_twin(title, isbn=isbn, oclc=oclc)
            po_lines.append({"number": "POL-9001", "status": "ACTIVE", "mms_id": mms(bib), "title": title})
            po_lines.append({"number": "POL-9002", "status": "CLOSED", "mms_id": mms(bib), "title": title})
            row["po_line"] = "POL-9001"
        elif label == "other_edition":
            cz_twin(title, isbn=isbn13(521400000 + n), oclc=str(290789000 + n))
        elif label == "print_same_title":
            bibs.append({"mms_id": f"99{bib + 100}{SUFFIX}", "title": title, "isbn": isbn,
                         "network_numbers": [f"(OCoLC)ocm{oclc}"]})
            holdings.append({"id": f"22{bib}{SUFFIX}", "mms_id": f"99{bib + 100}{SUFFIX}", "library": "MAIN",
                             "location": "stacks"})
        elif label == "not_available":
            cz_twin(title, isbn=isbn, available=False)
        elif label == "two_twins":
            cz_twin(title, isbn=isbn)
            cz_twin(title, isbn=isbn)
        elif label == "staff_gave_cz":
            cz_mms, cz_pid = cz_twin(title, isbn=isbn)
            row["mms_id"], row["portfolio_id"] = cz_mms, cz_pid
        elif label == "title_only":
            cz_twin(title)
        rows.append(row)
    seed = {"format": "p2e-sandbox-seed/1", "institution_suffix": SUFFIX, "bibs": bibs, "portfolios": portfolios,
            "po_lines": po_lines, "holdings": holdings,
            "e_collections": [{"id": COLLECTION_ID, "name": COLLECTION, "service_id": SERVICE_ID},
                              {"id": OTHER_ID, "name": "EBSCOhost eBook Collection", "service_id": OTHER_SERVICE}]}
    return seed, rows


def raw_report(path: Path, rows: list[dict], *, collections: str = COLLECTION, mode: str = "") -> Path:
    """The raw P2E report CARLI left: a title row, then BIB_ID, Title, ISBN/ISSN, OCLC Number, 856 URL; no Action.

    The staff-gave-the-CZ-record row carries an MMS ID column value (a raw report may have one)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["UIU P2E report - e-resources"])
    ws.append(["BIB_ID", "Title", "ISBN/ISSN", "OCLC Number", "856 URL", "MMS ID"])
    for row in rows:
        given = row["mms_id"] if row["label"] == "staff_gave_cz" else None
        ws.append([row["bib_id"], row["title"], row["isbn"] or None, f"ocn{row['oclc']}", row["url"], given])
    for cell in ws["A"] + ws["F"]:
        cell.number_format = "@"
    settings = wb.create_sheet("Settings")
    if mode:
        settings.append(["Mode", mode])
    settings.append(["Collections", collections])
    wb.save(path)
    return path
