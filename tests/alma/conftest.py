"""Fixtures shared by the client tests: the sandbox a test module seeds, and a client to it."""
from __future__ import annotations

import pytest

from p2e.alma.client import AlmaClient
from p2e.sandbox import Sandbox
from p2e.alma.contract import assert_conforms


@pytest.fixture
def sb(request):
    """The sandbox seeded with the test module's own ``make_seed()``; every request it saw checked against the contract."""
    with Sandbox.start(seed=request.module.make_seed()) as sandbox:
        yield sandbox
        assert_conforms(sandbox.requests)


@pytest.fixture
def alma(sb):
    """A client to ``sb``, with no rate limit and quick retries."""
    c = AlmaClient(sb.url, sb.api_key, rate_limit=None, max_retries=2, backoff_base=0.01)
    yield c
    c.close()
