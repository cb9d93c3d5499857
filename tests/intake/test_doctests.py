"""The usage examples in the intake modules' docstrings run (until CI runs --doctest-modules itself)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import p2e.intake

MODULES = sorted(m.name for m in pkgutil.iter_modules(p2e.intake.__path__, "p2e.intake."))


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
