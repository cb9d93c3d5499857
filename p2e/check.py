"""``processor.py check``: is this Alma, this key and this configuration ready for a run?

One line per check (what, OK or PROBLEM, what was seen, what to do), and ``all_ok`` only when
a run would work. The institution Alma reports for the key is compared with
``ALMA_INSTITUTION_CODE``, and ``MMS_ID_SUFFIX`` with the IDs this Alma really has. Nothing is written to Alma: the only non-GET calls are Alma's
``POST /almaws/v1/{area}/test``, which changes nothing (and is skipped with ``preview_only``).
No mail is sent unless ``send_test_mail``.

>>> print(format_table([Check("Alma address", True, "answered in 40 ms"),
...                     Check("Inbox folder", False, "cannot write in /x", "make it writable")]))
CHECK         RESULT   SEEN                TO DO
Alma address  OK       answered in 40 ms
Inbox folder  PROBLEM  cannot write in /x  make it writable
"""
from __future__ import annotations

import os
import smtplib
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from .alma.client import AlmaClient
from .alma.probe import Answer, institution_code, probe_area, read_electronic, record_ids
from .config import Settings
from .intake import LibraryProblem, check_libraries
from .notify.smtp import describe_error, smtp_hello, smtp_send
from .run.engine import ROW_CALLS
from .watch.lock import WatcherLock

CHECK_TIMEOUT = 10.0  # seconds: a check must not hang on an address that does not answer
# (area, what Developer Network calls the permission, whether the processor writes there)
AREAS = (("bibs", "Bibs", True), ("acq", "Acquisitions", True), ("electronic", "Electronic resources", False))


@dataclass
class Check:
    what: str
    ok: bool
    seen: str
    todo: str = ""


def format_table(checks: list[Check]) -> str:
    """The plain table: one line per check."""
    rows = [("CHECK", "RESULT", "SEEN", "TO DO")] + [(c.what, "OK" if c.ok else "PROBLEM", c.seen, c.todo)
                                                     for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3]).rstrip() for r in rows)


def all_ok(checks: list[Check]) -> bool:
    return all(c.ok for c in checks)


def run_checks(settings: Settings, preview_only: bool = False, send_test_mail: bool = False) -> list[Check]:
    """Every check, in the order a systems librarian would fix them."""
    checks = [library_check()] + alma_checks(settings, preview_only)
    checks.append(mail_check(settings, send_test_mail))
    checks.extend(folder_check(name, folder) for name, folder in
                  (("Inbox folder", settings.inbox_dir), ("Outbox folder", settings.outbox_dir),
                   ("State folder", settings.state_dir)))
    checks.append(lock_check(settings))
    return checks


def library_check() -> Check:
    """The libraries the workbook reader depends on still work as it expects (see p2e.intake.libraries)."""
    try:
        check_libraries()
    except LibraryProblem as exc:
        return Check("Workbook reader", False, str(exc),
                     "install the pinned versions: pip install -r requirements.txt in the processor's environment")
    return Check("Workbook reader", True, "openpyxl, defusedxml and xlrd work as the reader expects")


# -- Alma ---------------------------------------------------------------------------------------
def alma_checks(settings: Settings, preview_only: bool) -> list[Check]:
    settings.require_alma()
    base_url, key = settings.base_url or "", settings.alma_api_key or ""
    client = AlmaClient(base_url, key, rate_limit=settings.rate_limit, rate_max=settings.rate_max, max_retries=0,
                        read_only=preview_only,
                        timeout=min(settings.http_timeout, CHECK_TIMEOUT))
    try:
        first = probe_area(client, "bibs")
        if first.unreachable:
            return [Check("Alma address", False, f"no answer from {base_url}: {first.message}",
                          "check ALMA_REGION or ALMA_BASE_URL, and that this machine may reach it (proxy, firewall)")]
        checks = [Check("Alma address", True, f"{settings.alma_description()} answered in {first.seconds * 1000:.0f} ms")]
        reads = {"bibs": first, "acq": probe_area(client, "acq"), "electronic": read_electronic(client)}
        if all(a.code == "UNAUTHORIZED" for a in reads.values()):
            checks.append(Check("API key", False, "Alma refuses this key in every area (UNAUTHORIZED)",
                                "copy ALMA_API_KEY again from Developer Network; use a key of this Alma "
                                "(production or sandbox) and region"))
            return checks
        code = institution_code(reads["bibs"].body) or institution_code(reads["acq"].body)
        checks.append(Check("API key", True, "Alma accepts it" + (f" (institution {code})" if code else "")))
        checks.append(institution_check(code, settings.institution_code))
        if settings.mms_id_suffix:
            checks.append(suffix_check(settings.mms_id_suffix, record_ids(reads["electronic"].body)))
        for area, permission, writes in AREAS:
            write = None if preview_only or not writes else probe_area(client, area, write=True)
            checks.append(_area_check(area, permission, reads[area], write))
        checks.append(allowance_check(client.stats.remaining, settings.daily_reserve))
        return checks
    finally:
        client.close()


def institution_check(reported: str | None, configured: str | None) -> Check:
    """The institution Alma reports for this key (``GET /bibs/test``) against ALMA_INSTITUTION_CODE."""
    what = "Institution"
    if reported is None:
        return Check(what, True, "Alma's test answer names no institution"
                     + (f": ALMA_INSTITUTION_CODE={configured} could not be compared" if configured else ""))
    if configured is None:
        return Check(what, True, f"Alma reports {reported}; ALMA_INSTITUTION_CODE is not set",
                     f"set ALMA_INSTITUTION_CODE={reported} (finding duplicates needs it)")
    if configured.upper() != reported.upper():
        return Check(what, False, f"this API key is {reported}'s, but ALMA_INSTITUTION_CODE is {configured}",
                     f"if this configuration is for {configured}, use an API key of {configured}'s Alma; "
                     f"if it is for {reported}, set ALMA_INSTITUTION_CODE={reported}")
    return Check(what, True, f"Alma reports {reported}, as ALMA_INSTITUTION_CODE says")


def suffix_check(suffix: str, ids: list[tuple[str, str]]) -> Check:
    """MMS_ID_SUFFIX against IDs read from this Alma: every Alma ID ends in the institution's 4-digit number.

    An MMS ID made from a BIB_ID is 99 + the BIB_ID + the suffix, so a suffix that does not end in
    that number makes IDs of another institution (the rows would fail, as no such record exists here).
    """
    what = "MMS ID suffix"
    how = ("the digits that follow 99 and the Voyager BIB_ID in the MMS ID of one of your migrated records "
           "(MMS ID 99553996612205899 of BIB_ID 5539966 gives 12205899)")
    numbers = {value[-4:] for _, value in ids}
    if len(numbers) != 1:
        seen = ("no ID to compare it with: Alma listed no e-collection" if not ids
                else "Alma's IDs here do not all end in the same 4 digits")
        return Check(what, True, f"MMS_ID_SUFFIX={suffix} not checked: {seen}", f"check by hand that it is {how}")
    number = numbers.pop()
    kind, example = next(((k, v) for k, v in ids if v.endswith(suffix)), ids[0])
    if len(suffix) < 4 or not suffix.endswith(number):
        return Check(what, False, f"MMS_ID_SUFFIX={suffix}, but this institution's IDs end in {number} ({kind} "
                                  f"{example}): MMS IDs made with it would be another institution's",
                     f"set MMS_ID_SUFFIX to {how}; it ends in {number}")
    whole = f"; {kind} {example} ends in all of it" if example.endswith(suffix) else f", like {kind} {example}"
    return Check(what, True, f"MMS_ID_SUFFIX={suffix} ends in {number}, this institution's number{whole}")


def _area_check(area: str, permission: str, read: Answer, write: Answer | None) -> Check:
    level = "read" if write is None else "read/write"
    what = f"Alma {permission} ({level})"
    call = f"/almaws/v1/{area}/test" if area != "electronic" else "/almaws/v1/electronic/e-collections?limit=1"
    todo = f"in Developer Network, give this API key {permission} {'Read/write' if write else 'Read-only'} (same environment)"
    if not read.ok:
        return Check(what, False, f"GET {call} refused: {read.code or read.status or read.message}", todo)
    if write is not None and not write.ok:
        return Check(what, False, f"reads, but POST {call} refused: {write.code or write.status}", todo)
    return Check(what, True, f"GET{' and POST' if write else ''} {call} answered OK")


def allowance_check(remaining: int | None, reserve: int) -> Check:
    """Alma's daily allowance left against ALMA_DAILY_RESERVE, and about how many rows it allows."""
    if remaining is None:
        return Check("Daily API allowance", False, "Alma sent no X-Exl-Api-Remaining header",
                     "run the check again; if it persists, ask Ex Libris support")
    usable = remaining - reserve
    costly, cheap = max(ROW_CALLS.values()), min(v for v in ROW_CALLS.values() if v)
    seen = f"{remaining:,} calls left today, {reserve:,} kept for other systems (ALMA_DAILY_RESERVE)"
    if usable <= 0:
        return Check("Daily API allowance", False, seen + ": no rows can run today",
                     "wait for Alma's daily reset (midnight, institution time) or lower ALMA_DAILY_RESERVE")
    return Check("Daily API allowance", True,
                 seen + f": about {usable // costly:,} relink or {usable // cheap:,} delete rows today")


# -- mail, folders, lock -------------------------------------------------------------------------
def mail_check(settings: Settings, send_test_mail: bool) -> Check:
    if not settings.smtp_host:
        if send_test_mail:
            return Check("Mail server", False, "SMTP_HOST is not set: no mail can be sent", "set SMTP_HOST")
        return Check("Mail server", True, "SMTP_HOST is not set: results stay in the outbox, no mail is sent")
    where = f"{settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security})"
    try:
        smtp_hello(settings, timeout=CHECK_TIMEOUT)
        if send_test_mail:
            if not settings.mail_to:
                return Check("Mail server", False, f"{where} accepted us, but MAIL_TO is empty", "set MAIL_TO")
            smtp_send(_test_message(settings), settings, timeout=CHECK_TIMEOUT)
            return Check("Mail server", True, f"{where} took a test message to {', '.join(settings.mail_to)}")
    except (smtplib.SMTPException, OSError) as exc:
        return Check("Mail server", False, describe_error(exc, settings),
                     "check SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USER and SMTP_PASSWORD")
    login = f", logged in as {settings.smtp_user}" if settings.smtp_user else ""
    return Check("Mail server", True, f"{where} answered{login}; no message sent")


def _test_message(settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from or "p2e@localhost"
    message["To"] = ", ".join(settings.mail_to)
    message["Subject"] = "P2E clean-up processor: test message from 'processor.py check'"
    message.set_content("This is a test message. The P2E clean-up processor can send mail.\n")
    return message


def folder_check(name: str, folder: Path) -> Check:
    """The folder exists and a small file can be written in it and removed."""
    if not folder.is_dir():
        return Check(name, False, f"{folder} does not exist", "create it, or correct the setting in config.env")
    try:
        fd, temp = tempfile.mkstemp(prefix=".p2e-check-", dir=folder)
        try:
            os.write(fd, b"p2e check\n")
        finally:
            os.close(fd)
            os.unlink(temp)
    except OSError as exc:
        return Check(name, False, f"cannot write in {folder} ({exc.strerror or exc})",
                     "give the account that runs the processor write access to it")
    return Check(name, True, f"{folder} is writable")


def lock_check(settings: Settings) -> Check:
    lock = WatcherLock(settings.inbox_dir)
    holder = lock.holder()
    if holder is None:
        return Check("Watcher lock", True, "free: no watcher is running on this inbox")
    if lock.is_stale(holder):
        return Check("Watcher lock", True, f"left by a stopped watcher ({holder.describe()}); the next one takes it over")
    return Check("Watcher lock", True, f"held by a running watcher ({holder.describe()})")
