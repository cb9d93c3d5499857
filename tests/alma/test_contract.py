"""p2e/alma/contract.json: the sandbox serves only published calls, and they are really published."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from p2e.alma import contract
from p2e.sandbox.server import ROUTES


def _openapi_dir() -> Path | None:
    env = os.environ.get("ALMA_OPENAPI_DIR")
    if env:
        return Path(env)
    # /work/main/tests/alma/test_contract.py -> parents[3] = /work ; CI clones beside ../shared as well
    candidate = Path(__file__).resolve().parents[3] / "shared" / "alma-openapi"
    return candidate


def _norm(path: str) -> str:
    return path.rstrip("/")


def test_every_sandbox_route_is_in_the_contract():
    published = {(op["method"], _norm(op["path"])) for op in contract.operations()}
    served = {(m, _norm(t)) for m, t, _ in ROUTES}
    assert served - published == set(), "sandbox routes missing from contract.json"


def test_every_contract_entry_is_served_by_the_sandbox():
    served = {(m, _norm(t)) for m, t, _ in ROUTES}
    missing = [(op["method"], op["path"]) for op in contract.operations() if (op["method"], _norm(op["path"])) not in served]
    assert missing == []


def test_contract_matches_the_published_openapi():
    folder = _openapi_dir()
    if folder is None or not folder.is_dir():
        pytest.skip(f"Ex Libris OpenAPI files not found at {folder} (set ALMA_OPENAPI_DIR to the shared/alma-openapi folder)")
    specs: dict[str, dict] = {}
    problems = []
    for op in contract.operations():
        spec = specs.setdefault(op["spec"], json.loads((folder / op["spec"]).read_text(encoding="utf-8")))
        paths = spec["paths"]
        path = op["path"] if op["path"] in paths else None
        if path is None:
            problems.append(f"{op['path']} is not a path in {op['spec']}")
            continue
        verb = paths[path].get(op["method"].lower())
        if verb is None:
            problems.append(f"{op['method']} is not published for {path}")
            continue
        published = {p["name"]: p for p in verb.get("parameters", []) if p.get("in") == "query"}
        for name, rule in op.get("params", {}).items():
            if name not in published:
                problems.append(f"{op['method']} {path}: query parameter {name} not published")
                continue
            text = (published[name].get("description") or "")
            for value in rule.get("enum", []) + rule.get("list_of", []):
                if not re.search(rf"\b{re.escape(value)}\b", text):
                    problems.append(f"{op['method']} {path}: {name} value {value!r} not named in the spec's description")
            if rule.get("required") and not published[name].get("required"):
                problems.append(f"{op['method']} {path}: {name} marked required but the spec does not require it")
        for name, p in published.items():
            if p.get("required") and name not in op.get("params", {}):
                problems.append(f"{op['method']} {path}: required parameter {name} missing from the contract")
    assert problems == []


def test_check_request_accepts_published_calls():
    assert contract.check_request("GET", "/almaws/v1/bibs", {"other_system_id": "(UIUdb)5539966", "view": "brief"}) is None
    assert contract.check_request("GET", "/almaws/v1/bibs/test", {}) is None
    assert contract.check_request("POST", "/almaws/v1/bibs/99123/portfolios", {}) is None  # slash optional
    assert contract.check_request("POST", "/almaws/v1/bibs/99123/portfolios/", {}) is None
    assert contract.check_request("GET", "/almaws/v1/acq/po-lines", {"q": "mms_id~99123", "status": "ALL_WITH_CLOSED"}) is None
    assert contract.check_request("GET", "/almaws/v1/bibs/99123", {"expand": "e_avail,p_avail", "apikey": "x"}) is None


def test_check_request_names_what_is_wrong():
    assert "not one of" in contract.check_request("GET", "/almaws/v1/acq/po-lines", {"status": "OPEN"})
    assert "required query parameter 'op'" in contract.check_request("POST", "/almaws/v1/bibs/99123", {})
    assert "not an integer" in contract.check_request("GET", "/almaws/v1/bibs/99123/portfolios", {"limit": "500"})
    assert "no PATCH" in contract.check_request("PATCH", "/almaws/v1/bibs/99123", {})
    assert "not an operation" in contract.check_request("GET", "/almaws/v1/conf/jobs", {})


def test_assert_conforms_skips_sandbox_routes_and_reports_the_rest():
    contract.assert_conforms([{"method": "GET", "path": "/sandbox/state", "query": {}},
                              {"method": "GET", "path": "/almaws/v1/bibs/99123", "query": {"view": "brief"}}])
    with pytest.raises(AssertionError, match="reason"):
        contract.assert_conforms([{"method": "DELETE", "path": "/almaws/v1/bibs/99123", "query": {"reason": "dup"}}])
