"""Where group rows go: the local electronic collection and service a row names, found once per run.

A row's Collection cell is a collection's ID (digits, 61...) or its public name; its Service cell,
when the collection has several services, names one by ID (62...) or by its public description.
:class:`CollectionFinder` looks each collection up once per run (``GET /electronic/e-collections/{id}``,
or the brief search ``q=name~...`` matched exactly on ``public_name``) and remembers the answer, or
why it is unusable, for every later row.

With ``CREATE_COLLECTIONS=yes`` a named collection that is not in Alma is created once per run: a
local collection (``POST /electronic/e-collections``) with one service (``POST .../e-services``),
each journalled and read back. Rows naming it wait on one lock, so two rows never create it twice,
and a lost answer is settled by searching for the name before anything is sent again. A preview
creates nothing: it says the collection would be created.

>>> Place("611", "P2E e-books", "621").label
"collection 'P2E e-books' (611), service 621"
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..alma import records as R
from ..alma.errors import AlmaError
from . import group_outcomes as say
from .context import Job, RunContext
from .outcomes import RowStopped, Stop
from .steps import journaled


@dataclass(frozen=True)
class Place:
    """The collection and service a group row's portfolio goes into.

    ``would_create``: a preview with CREATE_COLLECTIONS=yes, the collection is not there yet (no IDs).
    ``created``: this row's run created the collection (told once, on that row and the Summary sheet).
    """

    collection_id: str
    collection_name: str
    service_id: str
    created: bool = False
    would_create: bool = False

    @property
    def label(self) -> str:
        return f"collection '{self.collection_name}' ({self.collection_id}), service {self.service_id}"


def _words(text: object) -> str:
    return " ".join(str(text or "").split()).lower()


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit()


def is_community_zone(collection: dict) -> bool:
    """A collection Alma serves as linked to the Community Zone (``is_local`` false).

    Alma's published record does not say how every collection shows this; when ``is_local`` is
    absent the collection is taken as local, and Alma's own refusal of the portfolio (60162)
    stops the row instead (see docs/alma-behaviour.md).
    """
    return "is_local" in collection and not R._flag(collection.get("is_local"))


def service_label(service: dict) -> str:
    name = str(service.get("public_description") or "").strip()
    return f"{service.get('id')} ({name})" if name else str(service.get("id"))


@dataclass
class CollectionFinder:
    """Each collection a run's group rows name, looked up (or created) once; safe from several threads."""

    _found: dict[str, tuple[dict, list[dict]] | Stop | Place] = field(default_factory=dict)
    _created: dict[str, bool] = field(default_factory=dict)  # collection created by this run -> told yet
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def place(self, ctx: RunContext, job: Job) -> Place:
        """The row's collection and service, checked; raises RowStopped with the reason when unusable."""
        text = " ".join(str(job.task.collection or "").split())
        key = _words(text)
        with self._lock:  # one lookup (and at most one creation) per collection, whoever asks first
            if key not in self._found:
                try:
                    self._found[key] = self._look_up(ctx, job, text)
                except RowStopped as stop:  # creating it failed: every row naming it says so; not tried again
                    self._found[key] = stop.stop
                    raise
            found = self._found[key]
            created_here = self._created.get(key) is False  # the first row to hear of it says so
            if created_here:
                self._created[key] = True
        if isinstance(found, Stop):
            raise RowStopped(found)
        if isinstance(found, Place):  # a preview: the collection would be created
            return found
        collection, services = found
        cid, name = str(collection.get("id") or ""), str(collection.get("public_name") or text)
        service = self._service(job, name, cid, services)
        return Place(cid, name, str(service.get("id")), created=created_here)

    def _look_up(self, ctx: RunContext, job: Job, text: str) -> tuple[dict, list[dict]] | Stop | Place:
        if _is_id(text):
            try:
                collection = ctx.client.get_collection(text)
            except AlmaError as exc:
                if exc.not_found or exc.code == "60121":
                    return say.no_collection_with_id(text)
                raise
        else:
            matches = self._named(ctx, text)
            if len(matches) > 1:
                return say.several_collections_named(text, ", ".join(str(c.get("id")) for c in matches[:5]))
            if not matches:
                if not ctx.settings.create_collections:
                    return say.no_collection_named(text)
                if ctx.preview:
                    return Place("", text, "", would_create=True)
                return self._create(ctx, job, text)
            collection = matches[0]
        cid, name = str(collection.get("id") or text), str(collection.get("public_name") or "")
        if is_community_zone(collection):
            return say.cz_collection(name, cid)
        return collection, ctx.client.list_services(cid)

    @staticmethod
    def _named(ctx: RunContext, name: str) -> list[dict]:
        """Collections whose public name is exactly ``name`` (any case and spacing)."""
        wanted = _words(name)
        return [c for c in ctx.client.list_collections(q=f"name~{name}") if _words(c.get("public_name")) == wanted]

    def _create(self, ctx: RunContext, job: Job, name: str) -> tuple[dict, list[dict]]:
        """CREATE_COLLECTIONS=yes: a local collection named ``name`` with one service, each journalled and read back."""
        made: list[dict] = []

        def settled() -> bool:  # a lost answer: was it made after all?
            made[:] = self._named(ctx, name)
            return bool(made)

        journaled(ctx, job, "create_collection", {"name": name},
                  send=lambda: made.append(ctx.client.request(
                      "POST", "/electronic/e-collections", verify=settled,
                      json_body={"public_name": name, "type": {"value": "0"},
                                 "description": "Made by the P2E clean-up processor for grouped P2E portfolios."})),
                  refused=lambda info: say.create_collection_refused(name, info))
        cid = str((made[-1] if made and made[-1] else self._named(ctx, name)[0]).get("id"))
        collection = ctx.client.get_collection(cid)  # the read-back: there, local, with this name
        if _words(collection.get("public_name")) != _words(name) or is_community_zone(collection):
            raise RowStopped(say.create_collection_not_proven(name, cid))
        services: list[dict] = []

        def service_settled() -> bool:
            services[:] = ctx.client.list_services(cid)
            return bool(services)

        journaled(ctx, job, "create_service", {"collection_id": cid},
                  send=lambda: ctx.client.request(
                      "POST", f"/electronic/e-collections/{cid}/e-services", verify=service_settled,
                      json_body={"type": {"value": "getFullTxt"}, "activation_status": {"value": "11"},
                                 "public_description": name}),
                  refused=lambda info: say.create_service_refused(name, cid, info))
        services = ctx.client.list_services(cid)  # the read-back
        if not services:
            raise RowStopped(say.collection_without_service(name, cid))
        self._created[_words(name)] = False
        return collection, services

    @staticmethod
    def _service(job: Job, name: str, cid: str, services: list[dict]) -> dict:
        wanted = _words(job.task.service)
        if not services:
            raise RowStopped(say.collection_without_service(name, cid))
        shown = ", ".join(service_label(s) for s in services[:8])
        if wanted:
            for service in services:
                if wanted in (_words(service.get("id")), _words(service.get("public_description"))):
                    return service
            raise RowStopped(say.no_such_service(str(job.task.service), name, cid, shown))
        if len(services) > 1:
            raise RowStopped(say.several_services(name, cid, shown))
        return services[0]
