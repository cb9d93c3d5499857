"""The run stage: tasks in, row results out, inside Alma's thresholds and resumable after a crash.

One job per file:

* :mod:`~p2e.run.engine`    windows, conflict groups, the worker pool, and why a run halts
* :mod:`~p2e.run.context`   :class:`RunContext` (client, settings, journal, backups), :class:`Job`
* :mod:`~p2e.run.checks`    the CARLI checks made before anything is written
* :mod:`~p2e.run.steps`     finding the MMS ID, backups, write-and-prove, the journal's protocol, resume
* :mod:`~p2e.run.actions`   delete, relink and keep, each as the guide's steps
* :mod:`~p2e.run.group`     group: into a local collection's service, the PO line moved, the bib kept
* :mod:`~p2e.run.local_collections`  the collection and service a group row names, found (or made) once a run
* :mod:`~p2e.run.verify`    the batched read-back of deletes
* :mod:`~p2e.run.outcomes`  every row message, one named function each (group's: :mod:`~p2e.run.group_outcomes`)
"""
from .context import RunContext
from .engine import DAILY, KEY, OUTAGE, STOPPED, EngineReport, run_tasks

__all__ = ["RunContext", "run_tasks", "EngineReport", "DAILY", "OUTAGE", "KEY", "STOPPED"]
