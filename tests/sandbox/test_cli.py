"""`processor.py sandbox --generate N` serves a library that `processor.py run` processes as expected."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from p2e.sandbox import generate_library

from tests.conftest import results_rows

PROJECT = Path(__file__).resolve().parents[2]


def test_a_generated_library_served_by_the_cli_is_processed_as_the_generator_expects(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workbook = tmp_path / "generated.xlsx"
    sandbox = subprocess.Popen([sys.executable, str(PROJECT / "processor.py"), "sandbox", "--generate", "400",
                                "--workbook", str(workbook), "--rate-limit", "0", "--port", str(port)],
                               cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + "/sandbox/requests", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        config = tmp_path / "config.env"
        config.write_text(f"ALMA_BASE_URL={url}\nALMA_API_KEY=sandbox-rw-key\nOUTBOX_DIR={tmp_path / 'out'}\n"
                          f"STATE_DIR={tmp_path / 'state'}\nALMA_RATE_LIMIT=1000\n")
        run = subprocess.run([sys.executable, str(PROJECT / "processor.py"), "run", str(workbook), "--config",
                              str(config)], cwd=PROJECT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        state = json.load(urllib.request.urlopen(url + "/sandbox/state"))
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    library = generate_library(400, random_seed=1)  # what the sandbox verb generated
    rows = results_rows(next((tmp_path / "out").glob("* - results *.xlsx")))
    assert len(rows) == 400
    for expected, got in zip(library.rows, rows):
        assert got["Result"] == expected["expected_outcome"], (expected["scenario"], got["Details"])
        assert (expected["portfolio_id"] in state["portfolios"]) == (got["Result"] != "Done")
