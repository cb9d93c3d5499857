"""The sandbox's seed format, and a generator of realistic P2E libraries.

A seed is plain JSON: compact records the sandbox expands into the JSON Alma publishes.
Only ``mms_id`` / ``id`` / ``number`` are required; everything else has a default.

    {
      "format": "p2e-sandbox-seed/1",
      "institution_suffix": "12205899",
      "bibs": [{"mms_id": "99553996612205899", "title": "...", "isbn": "...", "author": "...",
                "network_numbers": ["(UIUdb)5539966", "(OCoLC)ocn190789234"],
                "linked_record_id": {"value": "991084484299705816", "type": "NZ"},   # or CZ; omit if none
                "suppress_from_publishing": "false", "url": "http://... (856 $u)",
                "originating_system_id": "5539966"}],
      "portfolios": [{"id": "53100000112205899", "mms_id": "99...", "is_local": true, "is_standalone": true,
                      "collection_id": "61...", "service_id": "62...", "availability": "11",
                      "url": "https://...", "po_line": "POL-100001", "material_type": "BOOK"}],
      "po_lines": [{"number": "POL-100001", "status": "ACTIVE", "mms_id": "99...", "title": "...",
                    "type": "E_BOOK_OT", "po_number": "PO-5001"}],
      "holdings": [{"id": "22...", "mms_id": "99...", "library": "MAIN", "location": "stacks"}],
      "e_collections": [{"id": "61...", "name": "Ebook Central Academic Complete", "service_id": "62..."}]
    }

>>> lib = generate_library(20, random_seed=3)
>>> len(lib.rows), lib.rows[0]["mms_id"].startswith("99")
(20, True)
>>> sorted({r["expected_outcome"] for r in lib.rows})
['Done', 'Kept', 'Skipped']
"""
from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEED_FORMAT = "p2e-sandbox-seed/1"

# scenario -> weight in the "realistic" mix
REALISTIC_MIX = {
    "plain": 64,
    "suppress": 4,
    "keep": 6,
    "relink_active_pol": 5,
    "closed_pol_delete": 4,
    "other_inventory_holding": 3,
    "other_inventory_portfolio": 3,
    "nz_linked": 4,
    "staff_mistake_cz": 3,
    "active_pol_delete": 4,
}

COLLECTIONS = [
    ("Ebook Central Academic Complete", "https://ebookcentral.proquest.com/lib/uiuc/detail.action?docID={n}"),
    ("EBSCOhost eBook Collection", "https://search.ebscohost.com/login.aspx?direct=true&db=nlebk&AN={n}"),
    ("JSTOR Books at JSTOR", "https://www.jstor.org/stable/10.2307/j.ctt{n}"),
    ("Project MUSE Books", "https://muse.jhu.edu/book/{n}"),
    ("SpringerLink Books Complete", "https://link.springer.com/book/10.1007/978-1-{n}"),
]
PROXY = "http://proxy2.library.illinois.edu/login?url="

_ADJ = ("Modern", "Early", "Critical", "Global", "Urban", "Rural", "Hidden", "Digital", "Medieval", "Quiet",
        "Practical", "Political", "Visual", "Ancient", "Contested", "American", "Chinese", "Comparative")
_NOUN = ("history", "economics", "memory", "landscapes", "networks", "archives", "voices", "frontiers", "machines",
         "cities", "rivers", "theories", "empires", "markets", "bodies", "languages", "families", "borders")
_TOPIC = ("the Midwest", "modern Europe", "the Atlantic world", "public health", "rural Illinois", "the book",
          "environmental law", "early cinema", "labor", "migration", "the Pacific", "social media", "jazz")
_AUTH = ("Smith, Anne", "Garcia, Luis", "Chen, Wei", "Okafor, Ngozi", "Novak, Petra", "Kim, Sun-hee",
         "Brown, David", "Rossi, Marco", "Haddad, Leila", "Ivanova, Olga", "Nguyen, Minh", "Schmidt, Karl")


@dataclass
class Library:
    """A generated library: the seed the sandbox loads, and the matching workbook rows."""

    seed: dict
    rows: list[dict] = field(default_factory=list)
    suffix: str = "12205899"
    other_id_prefix: str = "(UIUdb)"

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["scenario"]] = out.get(r["scenario"], 0) + 1
        return out


def _isbn13(n: int) -> str:
    body = f"978{n % 10**9:09d}"[:12]
    total = sum((1 if i % 2 == 0 else 3) * int(d) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def generate_library(rows: int, *, random_seed: int = 1, suffix: str = "12205899",
                     other_id_prefix: str = "(UIUdb)", mix: str = "realistic") -> Library:
    """Build a seed and the annotated P2E rows that go with it; deterministic from ``random_seed``.

    ``mix="realistic"`` mixes the scenarios in :data:`REALISTIC_MIX` (each at least once when
    ``rows`` allows); ``mix="delete-only"`` makes every row a plain delete (for benchmarks).
    """
    if mix not in ("realistic", "delete-only"):
        raise ValueError("mix must be 'realistic' or 'delete-only'")
    rng = random.Random(random_seed)
    if mix == "delete-only":
        scenarios = ["plain"] * rows
    else:
        names = list(REALISTIC_MIX)
        scenarios = names[:rows] if rows < len(names) else list(names)
        scenarios += rng.choices(names, weights=list(REALISTIC_MIX.values()), k=max(0, rows - len(scenarios)))
        rng.shuffle(scenarios)

    bib_ids = rng.sample(range(100_000, 9_999_999), rows) if rows else []
    bibs: list[dict] = []
    portfolios: list[dict] = []
    po_lines: list[dict] = []
    holdings: list[dict] = []
    collections: list[dict[str, Any]] = []
    for k, (name, _pattern) in enumerate(COLLECTIONS):
        collections.append({"id": f"61{100_000 + k}{suffix}", "name": name, "service_id": f"62{100_000 + k}{suffix}"})
    # a local collection with one e-service, for the group action (issue 14); portfolios land there only by POST
    collections.append({"id": f"61{200_000}{suffix}", "name": "UIU Local P2E titles", "is_local": True,
                        "service_id": f"62{200_000}{suffix}"})
    out_rows: list[dict] = []
    pid_n = 1_000_000
    pol_n = 100_000
    hold_n = 1_000_000
    for i, (scenario, bib) in enumerate(zip(scenarios, bib_ids)):
        bib_s = str(bib)
        mms = f"99{bib_s}{suffix}"
        r = rng.random
        title = f"{_ADJ[int(r() * len(_ADJ))]} {_NOUN[int(r() * len(_NOUN))]} of {_TOPIC[int(r() * len(_TOPIC))]}"
        author = _AUTH[int(r() * len(_AUTH))]
        isbn = _isbn13(bib * 7919 + i)
        ck = int(r() * len(COLLECTIONS))  # the CZ collections only
        coll = collections[ck]
        doc = 100_000 + int(r() * 9_000_000)
        target_url = COLLECTIONS[ck][1].format(n=doc)
        url = PROXY + target_url
        oclc = f"(OCoLC)ocn{800_000_000 + bib}"
        p2e_bib: dict[str, Any] = {"mms_id": mms, "title": title, "author": author, "isbn": isbn,
                   "network_numbers": [other_id_prefix + bib_s, oclc], "url": url,
                   "originating_system_id": bib_s}
        pid_n += 1
        p2e_pid = f"53{pid_n}{suffix}"
        p2e_port = {"id": p2e_pid, "mms_id": mms, "url": url}
        row = {"voyager_bib_id": bib_s, "title": title, "url": url, "isbn": isbn, "location": "UIU Online Resources",
               "mms_id": mms, "portfolio_id": p2e_pid, "action": "delete", "bib_handling": "delete",
               "target_mms_id": "", "target_portfolio_id": "", "po_line": "", "po_number": "",
               "expected_outcome": "Done", "expected_bib": "deleted", "scenario": scenario}
        if scenario != "keep":
            cz_mms = f"99{100_000_000 + i}{suffix}"
            cz_id = f"99{5_000_000_000 + i}0101"
            bibs.append({"mms_id": cz_mms, "title": title, "author": author, "isbn": isbn,
                         "linked_record_id": {"value": cz_id, "type": "CZ"},
                         "network_numbers": [f"(EXLCZ){cz_id}", oclc], "originating_system": "CZ"})
            pid_n += 1
            cz_pid = f"53{pid_n}{suffix}"
            portfolios.append({"id": cz_pid, "mms_id": cz_mms, "is_local": False, "is_standalone": False,
                               "collection_id": coll["id"], "service_id": coll["service_id"], "url": ""})
            row["target_mms_id"], row["target_portfolio_id"] = cz_mms, cz_pid
        if scenario == "suppress":
            row["bib_handling"], row["expected_bib"] = "suppress", "suppressed"
        elif scenario == "keep":
            row.update(action="keep", bib_handling="", expected_outcome="Kept", expected_bib="kept")
        elif scenario in ("relink_active_pol", "closed_pol_delete", "active_pol_delete"):
            pol_n += 1
            number = f"POL-{pol_n}"
            status = "CLOSED" if scenario == "closed_pol_delete" else "ACTIVE"
            po_lines.append({"number": number, "status": status, "mms_id": mms, "title": title, "isbn": isbn,
                             "po_number": f"PO-{pol_n - 90_000}", "url": target_url})
            p2e_port["po_line"] = number
            row["po_number"] = f"PO-{pol_n - 90_000}"
            if scenario == "relink_active_pol":
                row.update(action="relink", po_line=number, expected_bib="deleted")
            elif scenario == "closed_pol_delete":
                row["expected_bib"] = "deleted (closed PO line remains)"
            else:
                row.update(expected_outcome="Skipped", expected_bib="kept: open PO line")
        elif scenario == "other_inventory_holding":
            hold_n += 1
            holdings.append({"id": f"22{hold_n}{suffix}", "mms_id": mms, "library": "MAIN", "location": "stacks"})
            row["expected_bib"] = "kept: other inventory"
        elif scenario == "other_inventory_portfolio":
            pid_n += 1
            portfolios.append({"id": f"53{pid_n}{suffix}", "mms_id": mms, "url": f"https://hdl.handle.net/2027/uiug.{bib_s}"})
            row["expected_bib"] = "kept: other inventory"
        elif scenario == "nz_linked":
            nz = f"99{1_084_000_000 + i}9705816"
            p2e_bib["linked_record_id"] = {"value": nz, "type": "NZ"}
            p2e_bib["network_numbers"].append(f"(EXLNZ-01CARLI_NETWORK){nz}")
            row["expected_bib"] = "unlinked from NZ and deleted"
        elif scenario == "staff_mistake_cz":
            # staff copied both IDs from the CZ-linked record in Alma instead of the P2E one
            row.update(mms_id=row["target_mms_id"], portfolio_id=row["target_portfolio_id"],
                       expected_outcome="Skipped", expected_bib="kept")
        bibs.append(p2e_bib)
        portfolios.append(p2e_port)
        out_rows.append(row)
    seed = {"format": SEED_FORMAT, "institution_suffix": suffix, "other_id_prefix": other_id_prefix,
            "bibs": bibs, "portfolios": portfolios, "po_lines": po_lines, "holdings": holdings,
            "e_collections": collections}
    return Library(seed=seed, rows=out_rows, suffix=suffix, other_id_prefix=other_id_prefix)


def load_seed(path: str | os.PathLike) -> dict:
    """Read a seed JSON file (see the module docstring for the format)."""
    with open(path, encoding="utf-8") as fh:
        seed = json.load(fh)
    if not isinstance(seed, dict):
        raise ValueError(f"{path}: a sandbox seed must be a JSON object")
    fmt = seed.get("format", SEED_FORMAT)
    if fmt != SEED_FORMAT:
        raise ValueError(f"{path}: unknown seed format {fmt!r} (expected {SEED_FORMAT!r})")
    for key in ("bibs", "portfolios", "po_lines", "holdings", "e_collections"):
        if not isinstance(seed.get(key, []), list):
            raise ValueError(f"{path}: '{key}' must be a list")
    return seed


def save_seed(seed: dict, path: str | os.PathLike) -> Path:
    """Write a seed as JSON (compact; one record per line for diff-ability)."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("{")
        head = [k for k in seed if not isinstance(seed[k], list)]
        lists = [k for k in seed if isinstance(seed[k], list)]
        parts = [f"{json.dumps(k)}: {json.dumps(seed[k])}" for k in head]
        for k in lists:
            items = ",\n  ".join(json.dumps(x, ensure_ascii=False) for x in seed[k])
            parts.append(f"{json.dumps(k)}: [\n  {items}\n]" if items else f"{json.dumps(k)}: []")
        fh.write(",\n".join(parts))
        fh.write("}\n")
    return path
