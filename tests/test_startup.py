"""A library missing or of an incompatible version is the operator's problem: said plainly, naming it.

Each test starts the real processor with a stand-in ``defusedxml`` package first on its path, as an
installation with the wrong version would have.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

# Imports and parses like defusedxml, but lets XML entities through: a version the reader cannot trust.
PERMISSIVE = '''
from xml.etree.ElementTree import fromstring, iterparse, parse, XMLParser, XMLPullParser  # noqa: F401


class DefusedXmlException(ValueError):
    pass
'''


def _processor(tmp_path: Path, files: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    for name, text in files.items():
        (tmp_path / "lib" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "lib" / name).write_text(text)
    return subprocess.run([sys.executable, str(PROJECT / "processor.py"), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(tmp_path / "lib"), "PATH": "/usr/bin:/bin"})


def test_a_missing_library_stops_the_processor_with_its_name_not_a_traceback(tmp_path):
    done = _processor(tmp_path, {"defusedxml/__init__.py": ""}, "validate", "x.xlsx")
    assert done.returncode == 2
    assert done.stderr.startswith("Cannot start: the library 'defusedxml' is missing or is not a version this "
                                  "processor works with")
    assert "Traceback" not in done.stderr


def test_a_library_that_no_longer_refuses_xml_entities_is_caught_at_start(tmp_path):
    files = {"defusedxml/__init__.py": "from .ElementTree import DefusedXmlException  # noqa: F401\n",
             "defusedxml/ElementTree.py": PERMISSIVE}
    done = _processor(tmp_path, files, "validate", "x.xlsx")
    assert done.returncode == 2
    assert done.stderr.startswith("Cannot start: ") and "defusedxml" in done.stderr
    assert "no longer refuses XML entities" in done.stderr and "Traceback" not in done.stderr


def _dist_info(name: str, version: str) -> dict[str, str]:
    """An installed distribution's metadata, as pip leaves it: importlib.metadata finds it first on the path."""
    return {f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"}


def test_an_incompatible_version_is_named_with_the_version_found_and_needed(tmp_path):
    done = _processor(tmp_path, _dist_info("requests", "1.0.0"), "check")
    assert done.returncode == 2
    assert done.stderr.startswith("Cannot start: the library 'requests' is version 1.0.0; this processor needs "
                                  "requests 2.34.2")
    assert "Traceback" not in done.stderr


def test_the_watcher_does_not_start_with_an_incompatible_version(tmp_path):
    done = _processor(tmp_path, _dist_info("openpyxl", "4.0.0"), "watch", "--once")
    assert done.returncode == 2
    assert "the library 'openpyxl' is version 4.0.0; this processor needs openpyxl 3.1.5" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bug_fix_release_of_a_pinned_library_is_accepted(tmp_path):
    done = _processor(tmp_path, _dist_info("requests", "2.34.9"), "validate", "missing.xlsx")
    assert "Cannot start" not in done.stderr
