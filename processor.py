#!/usr/bin/env python3
"""P2E clean-up processor: the only entry point. Run `python processor.py --help`.

Each verb is a thin call into the p2e package (p2e/cli.py); see README.md.
"""
import sys

EXIT_CANNOT_START = 2

from p2e.startup import startup_message, version_problems  # noqa: E402 - the standard library only

_problems = version_problems()  # before any library is imported: a wrong version is named, not tripped over
if _problems:
    print(startup_message(_problems), file=sys.stderr)
    sys.exit(EXIT_CANNOT_START)

try:
    from p2e.cli import main
except ImportError as exc:  # a library missing or of an incompatible version: the operator's problem, said plainly
    library = (getattr(exc, "name", None) or str(exc)).split(".")[0]
    if library == "p2e":
        raise  # our own code: a bug, not the installation
    print(f"Cannot start: the library '{library}' is missing or is not a version this processor works with "
          f"({exc}). Install the pinned versions with: python3 bootstrap.py test (or pip install -r "
          "requirements.txt in the processor's environment).", file=sys.stderr)
    sys.exit(EXIT_CANNOT_START)

if __name__ == "__main__":
    sys.exit(main())
