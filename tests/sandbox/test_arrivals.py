"""The sandbox's per-second threshold counts when requests arrived, not when a busy sandbox got round to reading them.

Alma counts calls at its gateway, on servers of its own; the sandbox shares a machine with the
processor. Here the sandbox's process is really stopped (SIGSTOP, as a busy machine deschedules
it) while requests arrive, then let go: it reads them all at once.
"""
from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from p2e.sandbox import API_KEY

PROJECT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGSTOP and the kernel's arrival times: Linux")


@pytest.fixture
def stoppable_sandbox():
    """A sandbox at 3 calls per second in its own process: (its address, its process)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import time; from p2e.sandbox import Sandbox; "
            f"Sandbox.start(port={port}, rate_limit=3).serve_forever()")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/sandbox/requests", timeout=1)
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield port, process
    os.kill(process.pid, signal.SIGCONT)
    process.terminate()
    process.wait(timeout=10)


def send_while_stopped(port: int, process: subprocess.Popen, moments: list[float]) -> list[int]:
    """One GET /bibs/test on its own connection at each moment (seconds from now), the sandbox stopped throughout."""
    connections = []
    os.kill(process.pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        for moment in moments:
            time.sleep(max(0.0, start + moment - time.monotonic()))
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/almaws/v1/bibs/test", headers={"Authorization": f"apikey {API_KEY}"})
            connections.append(connection)
    finally:
        os.kill(process.pid, signal.SIGCONT)
    statuses = []
    for connection in connections:
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        connection.close()
    return statuses


def test_requests_that_arrived_spaced_out_are_not_refused_because_they_were_read_together(stoppable_sandbox):
    port, process = stoppable_sandbox
    # 0.45 s apart: never more than 3 in any one second of arrivals
    statuses = send_while_stopped(port, process, [0.0, 0.45, 0.9, 1.35, 1.8, 2.25])
    assert statuses == [200] * 6


def test_more_arrivals_in_one_second_than_the_threshold_are_still_refused(stoppable_sandbox):
    port, process = stoppable_sandbox
    statuses = send_while_stopped(port, process, [0.0, 0.25, 0.5, 0.75, 1.5])
    assert sorted(statuses) == [200, 200, 200, 200, 429]  # the 4th arrival in [0, 1) s; the one at 1.5 s is fine
