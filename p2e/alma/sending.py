"""The moment a call leaves: connections that take their place in the limiter's window as they write.

Alma counts a call when it arrives. Between the limiter's "go" and the moment the request's
bytes are written there is Python work (``requests`` builds the request, ``urllib3`` picks a
connection), and on a busy machine a thread can wait there for a long while: in the consortium
benchmark (10 institutions in one process, 2 cores) a tenth of the calls waited more than 80 ms
and some more than 400 ms, so calls that the limiter had spaced out were written together.
So the session's connections count each call in the limiter's window themselves: they take its
place (:meth:`~p2e.alma.limiter.RateLimiter.take_place`, waiting while the window is full) when
the headers are ready and the first byte is next (``endheaders``), and date it
(:meth:`~p2e.alma.limiter.RateLimiter.written`) when the whole request has been written; it then
counts until a second after that.

>>> adapter = LimitedAdapter(RateLimiter(rate=25))
>>> adapter.poolmanager.pool_classes_by_scheme["https"].ConnectionCls.__name__
'CountedHTTPSConnection'

Only the public extension points of ``requests`` and ``urllib3`` are used: an ``HTTPAdapter``
subclass, a pool manager's ``pool_classes_by_scheme``, a pool's ``ConnectionCls``, and a
connection's ``request`` and ``endheaders``. Behind a SOCKS proxy (whose connections are urllib3's own), the
whole call is counted instead, from its turn to its answer: slower, never over the limit.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .limiter import RateLimiter

_current = threading.local()  # the limiter of the call this thread is sending (set by LimitedAdapter.send)


class CountedHTTPConnection(HTTPConnection):
    """An HTTP connection that counts each request in its limiter's window from just before it is written."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        with _one_call():
            super().request(*args, **kwargs)

    def endheaders(self, *args: Any, **kwargs: Any) -> None:
        _take_place()  # the headers are ready: what follows is the write
        super().endheaders(*args, **kwargs)


class CountedHTTPSConnection(HTTPSConnection):
    """The same over TLS (Alma itself)."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        with _one_call():
            super().request(*args, **kwargs)

    def endheaders(self, *args: Any, **kwargs: Any) -> None:
        _take_place()
        super().endheaders(*args, **kwargs)


class CountedHTTPPool(HTTPConnectionPool):
    ConnectionCls = CountedHTTPConnection


class CountedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = CountedHTTPSConnection


POOLS = {"http": CountedHTTPPool, "https": CountedHTTPSPool}


class LimitedAdapter(HTTPAdapter):
    """The transport adapter of an :class:`~p2e.alma.client.AlmaClient`'s session: every call it sends is counted."""

    def __init__(self, limiter: RateLimiter, **kwargs: Any):
        self.limiter = limiter
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(POOLS)
        return manager

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        proxy = select_proxy(request.url, kwargs.get("proxies") or {})
        previous = getattr(_current, "limiter", None)
        _current.limiter = self.limiter
        try:
            if proxy and proxy.lower().startswith("socks"):
                with _counted():  # the connection cannot say when it writes: count the whole call
                    return super().send(request, *args, **kwargs)
            return super().send(request, *args, **kwargs)
        finally:
            _current.limiter = previous


@contextlib.contextmanager
def _counted() -> Any:
    """The whole call counted in its limiter's window (behind a SOCKS proxy)."""
    limiter = getattr(_current, "limiter", None)
    if limiter is None:
        yield
        return
    _current.limiter = None  # counted once: the connection of this call does not count it again
    try:
        with limiter.sending():
            yield
    finally:
        _current.limiter = limiter


@contextlib.contextmanager
def _one_call() -> Any:
    """One request on a connection: its place in the window is taken at ``endheaders`` and dated when it returns."""
    limiter = getattr(_current, "limiter", None)
    if limiter is None:
        yield
        return
    # the call's limiter moves to ``call``: counted once, whatever the connection does inside
    _current.limiter, _current.call, _current.place = None, limiter, None
    try:
        yield
    finally:
        place = _current.place
        _current.limiter, _current.call, _current.place = limiter, None, None
        if place is not None:
            limiter.written(place)


def _take_place() -> None:
    """(at ``endheaders``) Wait for room in the window and count the call from now: its first byte goes next."""
    call = getattr(_current, "call", None)
    if call is not None and getattr(_current, "place", None) is None:
        _current.place = call.take_place()
