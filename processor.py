#!/usr/bin/env python3
"""P2E clean-up processor: the only entry point. Run `python processor.py --help`.

Each verb is a thin call into the p2e package (p2e/cli.py); see README.md.
"""
import sys

from p2e.cli import main

if __name__ == "__main__":
    sys.exit(main())
