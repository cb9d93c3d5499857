"""The demo: the whole job on the embedded Alma sandbox, with no Alma key.

It starts the sandbox on a free loopback port, seeds it with a small I-Share-like library
(P2E standalone portfolios and their Community-Zone-linked duplicates, a few with PO lines,
other inventory or a Network Zone link), puts the matching annotated P2E workbook in a demo
inbox, processes it exactly as ``run`` would, writes the results workbook to the outbox and
prints a plain-English summary, then checks the sandbox's state against the results.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from .config import Settings, load_settings
from .model import Outcome
from .pipeline import process_file


def run_demo(project: Path, *, settings: Settings | None = None, rows: int = 12, random_seed: int = 7,
             stream=None) -> int:
    from .sandbox import Sandbox, generate_library, write_workbook

    stream = stream or sys.stdout
    base = settings or load_settings(None, environ={}, base_dir=project)
    demo_dir = base.state_dir / "demo"
    library = generate_library(rows, random_seed=random_seed)
    with Sandbox.start(seed=library.seed) as sandbox:
        settings = replace(base, alma_api_key=sandbox.api_key, base_url=sandbox.url, region=None,
                           inbox_dir=demo_dir / "inbox", state_dir=demo_dir / "state",
                           outbox_dir=base.outbox_dir, mail_to=[], smtp_host=None,
                           source="the demo's own settings")
        settings.inbox_dir.mkdir(parents=True, exist_ok=True)
        workbook = settings.inbox_dir / f"UIU P2E clean-up demo {datetime.now():%Y-%m-%d %H%M%S}.xlsx"
        write_workbook(library, workbook)
        print(f"Started the Alma sandbox at {sandbox.url} with {len(library.rows)} P2E titles.", file=stream)
        print(f"Sample workbook: {workbook}", file=stream)
        outcome = process_file(workbook, settings, stream=stream)
        print("", file=stream)
        print(outcome.summary(), file=stream)
        state = sandbox.state()
    gone = [r for r in outcome.results if r.outcome is Outcome.DONE and r.portfolio_id]
    still_there = [r.portfolio_id for r in gone if r.portfolio_id and r.portfolio_id in state["portfolios"]]
    print("", file=stream)
    print(f"Checked the sandbox afterwards: {len(gone) - len(still_there)} of the {len(gone)} portfolios reported "
          "Done are gone from it" + (f"; still there: {', '.join(still_there)}" if still_there else "."), file=stream)
    return 1 if still_there else outcome.exit_code
