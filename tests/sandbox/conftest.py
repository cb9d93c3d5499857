"""Shared by the sandbox tests: ``alma``, a bare HTTP client for the sandbox that each test module's own
``sb`` fixture (its own seed) starts."""
from __future__ import annotations

import pytest
import requests


@pytest.fixture
def alma(sb):
    s = requests.Session()
    s.headers.update({"Authorization": f"apikey {sb.api_key}", "Accept": "application/json"})
    base = sb.url + "/almaws/v1"

    class Client:
        def get(self, path, **kw):
            return s.get(base + path, **kw)

        def post(self, path, **kw):
            return s.post(base + path, **kw)

        def put(self, path, **kw):
            return s.put(base + path, **kw)

        def delete(self, path, **kw):
            return s.delete(base + path, **kw)

    yield Client()
    s.close()
