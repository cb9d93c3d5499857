"""The package's shape, checked: the straight line, small modules, no private parts of other people's code.

    intake -> validate -> plan -> run -> report -> notify      (pipeline, watch and cli sit above)

Below the line, shared by all: model, errors, config, ids, names, files, records, journal, backup,
progress, logs. ``p2e/alma/`` knows HTTP and Alma's envelope only.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "p2e"
LINE = ["intake", "validate", "plan", "run", "report", "notify"]
SHARED = {"model", "errors", "config", "ids", "names", "files", "records", "journal", "backup", "progress", "logs", "xlsx"}
MAX_LINES = 400


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "sandbox" not in p.relative_to(PACKAGE).parts)


def stage_of(path: Path) -> str:
    """The first part of a module's name inside p2e: 'run' for p2e/run/engine.py, 'plan' for p2e/plan.py."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_stages(path: Path) -> set[str]:
    """The p2e stages a module imports at run time (imports under ``if TYPE_CHECKING:`` do not count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for n in ast.walk(node))
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]  # ('p2e', 'run') for p2e/run/x.py
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                name = ".".join(base + ([node.module] if node.module else []))
                names = [name] if node.module else [f"{name}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
        else:
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "p2e" and len(parts) > 1:
                found.add(parts[1])
    return found - {stage_of(path)}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_back_up_the_line(path):
    stage = stage_of(path)
    imported = imported_stages(path)
    if stage == "alma":
        assert imported == set(), f"p2e/alma/ knows HTTP only, but {path.name} imports {sorted(imported)}"
    elif stage in SHARED:
        assert not imported & set(LINE), f"{path.name} is shared below the line but imports {sorted(imported & set(LINE))}"
    elif stage in LINE:
        later = set(LINE[LINE.index(stage) + 1:])
        assert not imported & later, f"{stage} imports {sorted(imported & later)}, later in the line"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines: give its jobs a file each"


def _own_private_names() -> set[str]:
    """Every _name this package defines: functions, classes, attributes it assigns, parameters, imports."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[-1])
    return {n for n in names if n.startswith("_")}


def test_no_private_part_of_another_library_or_of_python_is_used():
    own = _own_private_names()
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Attribute):
                attr = node.attr
                if attr.startswith("_") and not attr.startswith("__") and attr not in own:
                    found.append(f"{where} .{attr}")
                if attr.startswith("_") and not attr.startswith("__") and isinstance(node.value, ast.Name) \
                        and node.value.id in {"openpyxl", "xlsxwriter", "requests", "zipfile", "xml", "sqlite3"}:
                    found.append(f"{where} {node.value.id}.{attr}")
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                if not node.module.startswith("p2e") and any(p.startswith("_") and not p.startswith("__")
                                                             for p in node.module.split(".")):
                    found.append(f"{where} from {node.module}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and str(node.args[1].value).startswith("_") and not str(node.args[1].value).startswith("__") \
                    and node.args[1].value not in own:
                found.append(f"{where} getattr(..., {node.args[1].value!r})")
    assert found == [], "\n".join(found)
