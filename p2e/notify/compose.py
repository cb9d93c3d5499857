"""Composing the email for one file: subject, plain-English body, the workbook attached.

The subject is one line a cataloguer can read in an inbox list; the body is the pipeline's
summary, where the staff file now is, and what to do next. A file that waits for Alma gets its
own subject (:func:`subject_for_waiting`).

>>> from collections import Counter
>>> from p2e.model import Mode, Outcome
>>> class Done:  # what the pipeline hands over (p2e.pipeline.FileOutcome)
...     source, status, mode, problems = Path("inbox/UIU p2e.xlsx"), "processed", Mode.APPLY, []
...     counts = Counter({Outcome.DONE: 40, Outcome.FAILED: 2})
>>> subject_for(Done())
'P2E clean-up: UIU p2e.xlsx processed - 40 done, 2 failed'
"""
from __future__ import annotations

import re
import socket
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from ..config import Settings
from ..model import Mode, Outcome
from ..names import clean_text, safe_file_name

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class MailedOutcome(Protocol):
    """What an email needs to know about a file's outcome (:class:`p2e.pipeline.FileOutcome` has it all)."""

    @property
    def source(self) -> Path: ...
    @property
    def status(self) -> str: ...
    @property
    def mode(self) -> Mode: ...
    @property
    def problems(self) -> Sequence[object]: ...
    @property
    def counts(self) -> Mapping[Outcome, int]: ...
    @property
    def results_path(self) -> Path | None: ...
    @property
    def email_to(self) -> list[str]: ...
    @property
    def run_id(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def reason_kind(self) -> str: ...

    def summary(self) -> str: ...


def subject_for(outcome: MailedOutcome) -> str:
    """One line a cataloguer can read in an inbox list.

    "P2E clean-up: UIU p2e.xlsx processed - 40 done, 2 failed"
    "P2E clean-up: UIU p2e.xlsx was not processed - 3 problems to fix"

    The file's name is cleaned (a newline in it would make the message impossible to send) and
    shortened as every derived name is (:func:`p2e.names.safe_file_name`).
    """
    source = Path(outcome.source.name)
    name = safe_file_name(source.stem, "", source.suffix, visible=False)
    if outcome.status == "rejected":
        n = len(outcome.problems)
        return clean_text(f"P2E clean-up: {name} was not processed - {n} problem{'s' if n != 1 else ''} to fix")
    if outcome.mode.value == "suggest":  # a suggestion run (p2e/suggest): nothing was done, suggestions to review
        return clean_text(f"P2E clean-up: suggestions for {name} are ready to review")
    parts = [f"{n} {o.value.lower()}" for o, n in sorted(outcome.counts.items(), key=lambda kv: list(Outcome).index(kv[0]))]
    what = {"paused": "paused for today", "stopped": "stopped part-way"}.get(
        outcome.status, "previewed" if outcome.mode.value == "preview" else "processed")
    return clean_text(f"P2E clean-up: {name} {what} - " + (", ".join(parts) or "no rows"))


def subject_for_waiting(outcome: MailedOutcome) -> str:
    """The subject of the one email about a file that waits for Alma.

    "P2E clean-up: UIU p2e.xlsx is waiting - Alma refused the API key"
    """
    name = re.sub(r"[\x00-\x1f\x7f]+", " ", outcome.source.name)
    why = "Alma refused the API key" if outcome.reason_kind == "key" else "Alma could not be reached"
    return f"P2E clean-up: {name} is waiting - {why}"


def body_for(outcome: MailedOutcome, where: Path | None = None) -> str:
    """The summary from the pipeline, where the staff file now is, and what to do next."""
    lines = ["Hello,", "", outcome.summary(), ""]
    if where is not None:
        lines.append(f"Your file is now: {where}")
    if outcome.results_path:
        lines.append(f"The {'rejection' if outcome.status == 'rejected' else 'results'} workbook is attached "
                     f"and is also in the outbox folder: {outcome.results_path.name}")
    if outcome.status == "rejected":
        lines += ["", "Nothing was changed in Alma. Fix the problems listed in the attached workbook, "
                      "then put the corrected file in the inbox folder again."]
    elif outcome.status == "paused":
        lines += ["", "You do not need to do anything: the file stays in the processing folder and the rest "
                      "runs by itself. You will get another email when it has finished."]
    lines += ["", f"-- the P2E clean-up processor on {socket.gethostname()}"]
    return "\n".join(lines) + "\n"


def compose(outcome: MailedOutcome, settings: Settings, where: Path | None = None) -> EmailMessage:
    """The email for one file: summary in the body, the results workbook attached."""
    message = EmailMessage()
    message["Subject"] = subject_for(outcome)
    message["From"] = settings.mail_from or f"p2e-cleanup@{socket.getfqdn()}"
    message["To"] = ", ".join(outcome.email_to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="p2e-cleanup")
    message.set_content(body_for(outcome, where))
    if outcome.results_path and Path(outcome.results_path).is_file():
        message.add_attachment(Path(outcome.results_path).read_bytes(), maintype=XLSX_TYPE[0],
                               subtype=XLSX_TYPE[1], filename=Path(outcome.results_path).name)
    return message


def compose_waiting(outcome: MailedOutcome, settings: Settings, where: Path | None = None) -> EmailMessage:
    """The email for a file that waits for Alma: as :func:`compose`, with the waiting subject."""
    message = compose(outcome, settings, where)
    del message["Subject"]
    message["Subject"] = subject_for_waiting(outcome)
    return message
