"""The embedded Alma sandbox: an HTTP server on loopback that behaves like Alma's REST API.

    from p2e.sandbox import Sandbox, generate_library, write_workbook
    lib = generate_library(50, random_seed=7)
    with Sandbox.start(seed=lib.seed) as sb:
        ...  # point the Alma client at sb.url with sb.api_key
    write_workbook(lib, "p2e.xlsx")

See docs/sandbox.md for the seed format, the switches and the modelled Alma behaviours.
"""
from __future__ import annotations

import os
from pathlib import Path

from .seed import Library, generate_library, load_seed, save_seed
from .server import API_KEY, NO_ACQ_KEY, READONLY_KEY, Sandbox
from .store import SandboxError, Store
from .twins import generate_twins_library
from .workbook import write_workbook

__all__ = [
    "Sandbox", "Library", "generate_library", "generate_twins_library", "load_seed", "save_seed", "write_workbook",
    "serve_from_cli", "Store", "SandboxError", "API_KEY", "READONLY_KEY", "NO_ACQ_KEY",
]


def serve_from_cli(port: int = 0, seed_path: str | os.PathLike | None = None, generate: int | None = None,
                   latency_ms: float = 0, rate_limit: float | None = None,
                   workbook_out: str | os.PathLike | None = None, *, random_seed: int = 1,
                   print_fn=print) -> None:
    """Run the sandbox in the foreground for ``processor.py sandbox`` (until Ctrl+C).

    ``generate=N`` builds a realistic N-row library and writes its annotated workbook to
    ``workbook_out`` (default ``sandbox-p2e.xlsx`` in the current folder); otherwise
    ``seed_path`` (a seed JSON) or an empty Alma is served.
    """
    seed = None
    if generate:
        library = generate_library(int(generate), random_seed=random_seed)
        seed = library.seed
        out = Path(workbook_out or "sandbox-p2e.xlsx")
        write_workbook(library, out)
        print_fn(f"Generated {len(library.rows)} P2E rows; the matching workbook is {out.resolve()}")
    elif seed_path:
        seed = load_seed(seed_path)
        print_fn(f"Loaded seed {seed_path}: {len(seed.get('bibs', []))} bibs, {len(seed.get('portfolios', []))} portfolios")
    sb = Sandbox.start(seed=seed, port=int(port or 0), latency_ms=latency_ms, rate_limit=rate_limit)
    print_fn(f"Alma sandbox listening on {sb.url}")
    print_fn(f"  read/write API key: {sb.api_key}")
    print_fn(f"  read-only API key:  {sb.readonly_key}")
    print_fn(f"  state: {sb.url}/sandbox/state   requests: {sb.url}/sandbox/requests")
    print_fn(f"  use it with: ALMA_BASE_URL={sb.url} ALMA_API_KEY={sb.api_key}")
    print_fn("Press Ctrl+C to stop.")
    sb.serve_forever()
