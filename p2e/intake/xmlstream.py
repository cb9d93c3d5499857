"""Fast, safe streaming XML for the parts of a workbook: :func:`iterparse` and :func:`parse_part`.

A defused parser (defusedxml) swaps in the pure-Python expat wrapper: safe, but a 100,000-row
sheet then takes most of a minute. The sheet data and the shared strings (the bulk of a
workbook) are parsed with the C parser instead (``XMLPullParser``, public API), after checking
the XML prolog: entity and DTD attacks need a ``<!DOCTYPE ...>``, which XML allows only there.
Anything unusual (a DOCTYPE, a non-UTF-8 part) goes to defusedxml, which refuses entities.

>>> import io
>>> [(event, element.tag) for event, element in iterparse(io.BytesIO(b"<a><b/></a>"))]
[('end', 'b'), ('end', 'a')]
>>> prolog_is_plain(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>')
False
"""
from __future__ import annotations

import io
from typing import IO, Any, Iterator, Literal
from xml.etree.ElementTree import Element, XMLPullParser

from defusedxml.ElementTree import fromstring as defused_fromstring
from defusedxml.ElementTree import iterparse as defused_iterparse

from . import limits

CHUNK = 1 << 16
Event = Literal["start", "end"]


def prolog_is_plain(buf: bytes) -> bool | None:
    """True: the root element starts before any DOCTYPE; False: a DOCTYPE or odd encoding; None: need more bytes."""
    i, n = 0, len(buf)
    if buf.startswith(b"\xef\xbb\xbf"):
        i = 3
    elif buf[:4].count(b"\x00") or buf.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16/32: let defusedxml handle it
    while True:
        while i < n and buf[i] in b" \t\r\n":
            i += 1
        if i >= n:
            return None
        if buf[i] != 0x3C:  # '<'
            return True  # not XML at all: the parser reports it
        if buf.startswith(b"<?", i):
            j = buf.find(b"?>", i)
        elif buf.startswith(b"<!--", i):
            j = buf.find(b"-->", i)
            j = j + 1 if j >= 0 else j
        elif buf.startswith(b"<!", i) or n - i < 9:
            return False if buf.startswith(b"<!", i) else None
        else:
            return True
        if j < 0:
            return None
        i = j + 2


class RunTooLong(Exception):
    """An XML text, tag or attribute ran on for limits.MAX_XML_RUN_BYTES without ending."""


def iterparse(src: IO[bytes], events: tuple[Event, ...] = ("end",)) -> Iterator[tuple[Any, ...]]:
    """(event, element) pairs like iterparse, using the C parser when the prolog is plain.

    Raises :class:`RunTooLong` as soon as limits.MAX_XML_RUN_BYTES are read without a single event:
    one text that long is more than any Excel cell holds, and it is refused before it is held.
    """
    head = b""
    verdict = None
    while verdict is None:
        chunk = src.read(CHUNK)
        head += chunk
        verdict = prolog_is_plain(head)
        if not chunk or len(head) > (1 << 20):
            verdict = bool(verdict)
    if not verdict:
        replay = Prefixed(head, src, limits.MAX_XML_RUN_BYTES)
        for item in defused_iterparse(io.BufferedReader(replay), events=events):
            replay.since_event = 0
            yield item
        return
    parser: XMLPullParser[Element] = XMLPullParser(events=events)
    data = head
    quiet = 0  # bytes fed since the last event
    while data:
        parser.feed(data)
        produced = False
        for item in parser.read_events():  # raises the syntax error feed() has queued
            produced = True
            yield item
        quiet = 0 if produced else quiet + len(data)
        if quiet > limits.MAX_XML_RUN_BYTES:
            raise RunTooLong()
        data = src.read(CHUNK)
    parser.close()
    yield from parser.read_events()


class Prefixed(io.RawIOBase):
    """A stream that replays ``head`` and then the rest of ``src``; it refuses to read more than
    ``limit`` bytes while the reader's ``since_event`` is not reset."""

    def __init__(self, head: bytes, src: IO[bytes], limit: int | None = None):
        self.head, self.src, self.limit = head, src, limit
        self.since_event = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.limit is not None and self.since_event > self.limit:
            raise RunTooLong()
        if self.head:
            n = min(len(b), len(self.head))
            b[:n], self.head = self.head[:n], self.head[n:]
            self.since_event += n
            return n
        data = self.src.read(len(b))
        b[: len(data)] = data
        self.since_event += len(data)
        return len(data)


def parse_part(data: bytes) -> Element:
    """A small XML part (content types, relationships, workbook, styles) parsed whole, defused."""
    root: Element = defused_fromstring(data)
    return root
