"""The Alma operations the project uses, as Ex Libris publishes them, and a checker.

``contract.json`` (beside this file) lists each operation: method, path template and the query
parameters the published OpenAPI defines for it (with their allowed values where the spec
names them). ``other_operations`` lists calls outside the REST API (Alma's SRU), checked alike. Tests call :func:`assert_conforms` on the sandbox's request log so that no code
path quietly relies on a call real Alma does not offer.

>>> check_request("DELETE", "/almaws/v1/bibs/99123412205899/portfolios/53123412205899", {"bib": "delete"}) is None
True
>>> check_request("DELETE", "/almaws/v1/bibs/99123412205899/portfolios/53123412205899", {"bib": "remove"})
"DELETE /almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}: bib='remove' is not one of retain, suppress, delete"
>>> check_request("DELETE", "/almaws/v1/bibs/99123412205899", {"reason": "dup"})
"DELETE /almaws/v1/bibs/{mms_id}: query parameter 'reason' is not in the published API (allowed: override, cataloger_level)"
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

CONTRACT_PATH = Path(__file__).with_name("contract.json")
SANDBOX_ONLY_PREFIXES = ("/sandbox/",)


@lru_cache(maxsize=1)
def load_contract() -> dict:
    with open(CONTRACT_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def operations() -> list[dict]:
    return load_contract()["operations"]


def _template_regex(template: str) -> re.Pattern:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"[^/]+", re.escape(template.rstrip("/")))
    return re.compile("^" + pattern + "/?$")


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[dict, re.Pattern, int]]:
    out = []
    for op in operations() + list(load_contract().get("other_operations", [])):
        literal = len(re.sub(r"\{\w+\}", "", op["path"]))
        out.append((op, _template_regex(op["path"]), literal))
    # the most literal template first: /bibs/test before /bibs/{mms_id}
    out.sort(key=lambda t: -t[2])
    return out


def find_operation(method: str, path: str) -> dict | None:
    """The contract entry a concrete request path falls under, or None."""
    for op, rx, _ in _compiled():
        if op["method"] == method.upper() and rx.match(path):
            return op
    return None


def check_request(method: str, path: str, query: Mapping[str, object] | None = None) -> str | None:
    """None when ``method path?query`` is a published call used as published; else why not."""
    query = query or {}
    op = find_operation(method, path)
    if op is None:
        templates = [o["path"] for o, rx, _ in _compiled() if rx.match(path)]
        if templates:
            return f"{method.upper()} {path}: the published API has no {method.upper()} on {templates[0]}"
        return f"{method.upper()} {path}: not an operation in p2e/alma/contract.json"
    where = f"{op['method']} {op['path']}"
    params = op.get("params", {})
    globals_ = set(load_contract().get("global_params", []))
    for name, rule in params.items():
        if rule.get("required") and name not in query:
            return f"{where}: required query parameter '{name}' is missing"
    for name, raw in query.items():
        if name in globals_:
            continue
        if name not in params:
            allowed = ", ".join(params) or "none"
            return f"{where}: query parameter '{name}' is not in the published API (allowed: {allowed})"
        rule = params[name]
        value = "" if raw is None else str(raw)
        if "enum" in rule and value not in rule["enum"]:
            return f"{where}: {name}={value!r} is not one of {', '.join(rule['enum'])}"
        if rule.get("boolean") and value.lower() not in ("true", "false"):
            return f"{where}: {name}={value!r} is not true or false"
        if "list_of" in rule:
            bad = [v for v in value.split(",") if v and v.strip() not in rule["list_of"]]
            if bad:
                return f"{where}: {name}={value!r}: {', '.join(bad)} not among {', '.join(rule['list_of'])}"
        if "integer" in rule:
            low, high = rule["integer"]
            if not value.isdigit() or int(value) < low or (high is not None and int(value) > high):
                rng = f"{low}-{high}" if high is not None else f">= {low}"
                return f"{where}: {name}={value!r} is not an integer in {rng}"
    return None


def violations(requests_log: Iterable[Mapping]) -> list[str]:
    """The distinct contract problems in a sandbox request log (``Sandbox.requests``)."""
    problems: dict[str, None] = {}
    for entry in requests_log:
        path = entry.get("path", "")
        if path.startswith(SANDBOX_ONLY_PREFIXES):
            continue
        problem = check_request(entry.get("method", "GET"), path, entry.get("query") or {})
        if problem:
            problems.setdefault(problem, None)
    return list(problems)


def assert_conforms(requests_log: Iterable[Mapping]) -> None:
    """Raise AssertionError listing every request that is not a published Alma call."""
    problems = violations(list(requests_log))
    if problems:
        raise AssertionError("Requests outside the published Alma API:\n  " + "\n  ".join(problems))
