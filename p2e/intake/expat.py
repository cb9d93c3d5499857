"""The fast, safe push parser for the bulk of an .xlsx file (its sheets and shared strings): :func:`safe_parser`
and :func:`feed`.

The sheet data and shared strings are most of a workbook's bytes. Building an element (and a
pull event) for each of a 100,000-row sheet's millions of elements took most of intake's time, so
these two parts are read with the standard library's expat parser directly (``xml.parsers.expat``,
public API), with only the handlers a reader needs. It is made safe as defusedxml makes its expat
parsers safe, by the same handlers: any entity declaration or external reference raises
:class:`UnsafeXml` (the workbook is refused as unsafe), so no entity can expand; an undeclared
entity is a syntax error. (It does not depend on defusedxml's version.)

>>> seen = []
>>> parser = safe_parser()
>>> parser.StartElementHandler = lambda name, attrs: seen.append(name)
>>> import io
>>> for _ in feed(parser, io.BytesIO(b'<a xmlns="urn:x"><b/></a>'), lambda: False):
...     pass
>>> seen
['urn:x a', 'urn:x b']
"""
from __future__ import annotations

from typing import IO, Any, Callable, Iterable, Iterator
from xml.parsers import expat

from . import limits
from .xmlstream import RunTooLong

CHUNK = 1 << 16
ExpatError = expat.ExpatError


class UnsafeXml(Exception):
    """The XML declares an entity or refers to an external one: Excel never writes either."""


def _no_entities(name: str, *_details: Any) -> None:
    raise UnsafeXml(f"entity declaration {name!r}")


def _no_external_references(context: str, *_details: Any) -> int:
    raise UnsafeXml(f"external reference {context!r}")


def safe_parser(names: dict[str, str] | None = None) -> Any:
    """An expat parser with namespaces (element names come as ``"uri local"``, the very strings of ``names``
    where they are there), whole texts, and no entities."""
    parser = expat.ParserCreate(namespace_separator=" ", intern=names if names is not None else {})
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _no_entities
    parser.UnparsedEntityDeclHandler = _no_entities
    parser.ExternalEntityRefHandler = _no_external_references
    return parser


def chunks_of(src: IO[bytes]) -> Iterator[bytes]:
    """``src`` a chunk at a time."""
    return iter(lambda: src.read(CHUNK), b"")


def feed(parser: Any, src: IO[bytes] | Iterable[bytes], in_long_text: Callable[[], bool], fed: int = 0) -> Iterator[None]:
    """Feed ``src`` (a file, or its chunks) to ``parser`` a chunk at a time, pausing (yielding) after each
    chunk so that the caller can hand on what the handlers collected. ``fed``: the bytes this parser
    was given before.

    Raises :class:`~p2e.intake.xmlstream.RunTooLong` when limits.MAX_XML_RUN_BYTES are fed without a
    single event (a tag or attribute that never ends), or when ``in_long_text()`` says the text being
    collected has grown past it: more than any Excel cell holds, refused before it is held.
    """
    for data in chunks_of(src) if hasattr(src, "read") else src:  # type: ignore[arg-type]
        if not data:
            continue
        parser.Parse(data, False)
        fed += len(data)
        if fed - max(parser.CurrentByteIndex, 0) > limits.MAX_XML_RUN_BYTES or in_long_text():
            raise RunTooLong()
        yield
    parser.Parse(b"", True)
    yield
