"""The start-up check of the installed libraries' versions against the pins in ``requirements.txt``.

``processor.py`` runs it before anything else is imported, for every verb (``check`` and ``watch``
included): a library of another version than the one the processor was tested with is the
operator's problem, said once with the library's name, the version found and the version needed,
never a staff file refused as unreadable or a traceback.

A version is compatible when its major and minor numbers are the pinned ones (3.1.x for a pin of
3.1.5): a bug-fix release is accepted, a release that may change behaviour is not.

>>> pins("openpyxl==3.1.5   # a comment\\n-r other.txt\\n\\nrequests==2.34.2\\n")
{'openpyxl': '3.1.5', 'requests': '2.34.2'}
>>> compatible("3.1.7", "3.1.5"), compatible("3.2.0", "3.1.5"), compatible("2.0.2", "2.0.2")
(True, False, True)
"""
from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def pins(text: str) -> dict[str, str]:
    """{distribution name: pinned version} of the ``name==version`` lines of a requirements file."""
    found = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _release(version: str) -> tuple[str, ...]:
    return tuple(re.split(r"[.+-]", version)[:2])


def compatible(found: str, pinned: str) -> bool:
    """The same major and minor version as the pin."""
    return _release(found) == _release(pinned)


def version_problems(requirements: Path = REQUIREMENTS) -> list[str]:
    """One plain sentence per pinned library that is missing or of an incompatible version (none: all fine).

    A processor installed without its requirements file (nothing to compare with) is not checked.
    """
    try:
        wanted = pins(requirements.read_text(encoding="utf-8"))
    except OSError:
        return []
    problems = []
    for name, pinned in wanted.items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"the library '{name}' is not installed; this processor needs {name} {pinned}")
            continue
        if not compatible(found, pinned):
            problems.append(f"the library '{name}' is version {found}; this processor needs {name} {pinned} "
                            f"(any {'.'.join(_release(pinned))}.x works)")
    return problems


def startup_message(problems: list[str]) -> str:
    """What the operator reads when the libraries are not the ones the processor needs."""
    return ("Cannot start: " + "; ".join(problems) + ". Install the pinned versions with: python3 bootstrap.py test "
            "(or pip install -r requirements.txt in the processor's environment). Staff files are not at fault.")
