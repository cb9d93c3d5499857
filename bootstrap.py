#!/usr/bin/env python3
"""Set up and run, in one command, on a fresh machine with Python 3.11 or newer.

    python3 bootstrap.py demo      # the whole job on the embedded Alma sandbox
    python3 bootstrap.py test      # the type checker, then the test suite (with the doctests)
    python3 bootstrap.py run FILE  # any other processor.py verb, after set-up

It creates a private virtual environment in .venv (once, and again whenever
requirements*.txt change), installs the pinned packages into it, then runs
processor.py (or pytest) with that environment's Python. Standard library only.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
REQUIREMENTS = [HERE / "requirements.txt", HERE / "requirements-dev.txt"]


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in REQUIREMENTS if p.exists())).hexdigest()
    stamp = VENV / ".requirements.sha256"
    python = venv_python()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    if not python.exists():
        print("Setting up a private Python environment in .venv (first run only) ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    print("Installing the packages listed in requirements-dev.txt ...", flush=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(HERE / "requirements-dev.txt")],
        check=True,
    )
    stamp.write_text(digest)
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    python = ensure_venv()
    if argv[0] == "test":
        # The type checker first (over p2e/, see mypy.ini), then the tests and the docstrings' examples.
        if not argv[1:]:
            print("Type-checking p2e/ (mypy) ...", flush=True)
            checked = subprocess.call([str(python), "-m", "mypy"], cwd=HERE)
            if checked:
                return checked
        command = [str(python), "-m", "pytest", *argv[1:]]
    else:
        command = [str(python), str(HERE / "processor.py"), *argv]
    return subprocess.call(command, cwd=HERE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
