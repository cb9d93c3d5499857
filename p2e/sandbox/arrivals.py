"""When a request reached the sandbox, and Alma's per-second threshold counted over those moments.

Alma counts calls as they reach its gateway, on servers of its own. The sandbox shares its
machine with the processor it serves, and a busy machine can leave a sandbox thread waiting to
read a request that arrived a while before: counted when they are read, requests that arrived
spaced out look like a burst, and the sandbox answers 429 where Alma would not (measured in the
consortium benchmark: requests written at most 23 a second were read up to 25 a second, some of
them 0.1 to 0.5 s after the kernel had received them; docs/sandbox.md). So:

* on Linux the kernel dates each request's bytes as they arrive (``SO_TIMESTAMPNS``), and the
  sandbox counts those moments (:class:`ArrivalReader`);
* elsewhere, the moment the request line has been read (as early as Python can);
* :class:`PerSecondWindow` allows at most ``limit`` arrivals in any one second, whatever order
  the requests are counted in (a request read late can have arrived before one already counted).
"""
from __future__ import annotations

import bisect
import io
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = 35  # Linux's number (Python's socket module does not name it): dates received data
_TIMESPEC = struct.Struct("qq")  # the kernel's date: seconds and nanoseconds since the epoch


class ArrivalReader(io.RawIOBase):
    """A connection's bytes, and the moment (``time.monotonic()``) the kernel received the latest of them.

    ``arrived`` is None until a read has brought a date (or when the system gives none).
    """

    def __init__(self, connection: socket.socket):
        self.connection = connection
        self.arrived: float | None = None

    @classmethod
    def wrap(cls, connection: socket.socket) -> "ArrivalReader | None":
        """A reader for ``connection`` if the kernel will date its data (Linux), else None."""
        return cls(connection) if date_arrivals(connection) else None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size, ancillary, _flags, _address = self.connection.recvmsg_into([buffer], socket.CMSG_SPACE(_TIMESPEC.size))
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
                seconds, nanoseconds = _TIMESPEC.unpack(data[:_TIMESPEC.size])
                now = time.monotonic()
                self.arrived = min(now, seconds + nanoseconds / 1e9 - (time.time() - now))  # wall clock -> monotonic
        return size


def date_arrivals(sock: socket.socket) -> bool:
    """Ask the kernel to date the data ``sock`` receives; True if it will (Linux).

    Set on the listening socket too: the connections it accepts inherit it, and so the data that
    arrives before a busy sandbox gets round to accepting the connection is dated as well.
    """
    if sys.platform != "linux":
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


class PerSecondWindow:
    """At most ``limit`` arrivals in any window of one second (``[s, s + 1)``), counted in any order.

    >>> window = PerSecondWindow()
    >>> [window.admit(moment, limit=2) for moment in (10.0, 10.5, 10.9)]
    [True, True, False]
    >>> window.admit(11.6, limit=2)     # 10.5 and 11.6 are more than a second apart
    True
    >>> window.admit(10.2, limit=2)     # read late, arrived early: 10.0, 10.2 and 10.5 in one second
    False
    """

    KEEP = 5.0  # seconds: how much earlier than the latest arrival a request read late may have arrived

    def __init__(self) -> None:
        self._moments: list[float] = []  # admitted arrivals, in order

    def admit(self, moment: float, limit: float) -> bool:
        """Count an arrival at ``moment`` if every second holding it holds fewer than ``limit`` arrivals so far."""
        moments = self._moments
        if moments and moments[0] < moments[-1] - self.KEEP:
            del moments[:bisect.bisect_left(moments, moments[-1] - self.KEEP)]
        # The seconds holding ``moment`` start in (moment - 1, moment]; the fullest of them starts at one of
        # the arrivals there, or at ``moment`` (slide a second to the right until it starts at an arrival:
        # it loses none and still holds ``moment``).
        near = moments[bisect.bisect_right(moments, moment - 1.0):bisect.bisect_right(moments, moment)]
        for start in [*near, moment]:
            if bisect.bisect_left(moments, start + 1.0) - bisect.bisect_left(moments, start) >= limit:
                return False
        bisect.insort(moments, moment)
        return True
