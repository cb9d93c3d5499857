"""The watcher's pre-flight gate: no file starts while Alma refuses this key (``processor.py check``).

The watcher runs check's Alma checks (:func:`p2e.check.alma_checks`) when it starts, once a day
after that (a ``schedule`` job), and again every :data:`RECHECK_SECONDS` while the gate is shut.
The gate shuts only on Alma's own refusal of the key (``UNAUTHORIZED``: a wrong key, a read-only
key, an area without permission). An Alma that does not answer, or a used-up daily allowance,
leaves it as it was: the pipeline already waits out outages and pauses on the allowance.

A suggestion request (no Action filled in, or Mode = Suggest: the pipeline only reads for it) still
goes through while the key may read but not write; everything else waits. While the gate is
shut, no other file is claimed or resumed: each ready file stays in the inbox with
``<file> - WAITING.txt`` in the outbox saying why, the log says why once, and MAIL_TO (the
systems librarian) gets one email per episode, not one per look (the episode is remembered in
``STATE_DIR/waiting-notices.json``, as for a waiting file). When the key can write again, the
log says so, the WAITING notes go and files proceed.

>>> from p2e.check import Check
>>> refusals([Check("Alma address", True, "answered"), Check("Alma Bibs (read/write)", False,
...           "reads, but POST /almaws/v1/bibs/test refused: UNAUTHORIZED", "give it Read/write")])
['Alma Bibs (read/write): reads, but POST /almaws/v1/bibs/test refused: UNAUTHORIZED (give it Read/write)']
>>> refusals([Check("Daily API allowance", False, "refused: DAILY_THRESHOLD")])
[]
>>> refuses_reading([Check("Alma Bibs (read/write)", False, "reads, but POST /almaws/v1/bibs/test refused: UNAUTHORIZED")])
False
>>> refuses_reading([Check("API key", False, "Alma refuses this key in every area (UNAUTHORIZED)")])
True
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import schedule

from ..config import Settings
from ..files import write_atomic
from ..intake import FileRejected, read_workbook
from ..model import Mode, Outcome
from ..names import safe_file_name
from ..notify.waiting import forget_told
from ..suggest.file import wants_suggestions

if TYPE_CHECKING:
    from ..check import Check

log = logging.getLogger("p2e.watch")

RECHECK_SECONDS = 300.0   # while the gate is shut: how often the key is tried again
NOTICE_ID = "pre-flight check"  # the episode's name in STATE_DIR/waiting-notices.json
REFUSED = "UNAUTHORIZED"  # Alma's code for a key that may not do this (shared/alma-examples)
WRITES_ONLY = "reads, but "  # how check words an area whose reads Alma answers but whose writes it refuses


def refusals(checks: Sequence["Check"]) -> list[str]:
    """The checks that failed because Alma refused this key, each as one plain line."""
    return [f"{c.what}: {c.seen}" + (f" ({c.todo})" if c.todo else "")
            for c in checks if not c.ok and REFUSED in c.seen]


def refuses_reading(checks: Sequence["Check"]) -> bool:
    """True when Alma refused this key a read (the key itself, or an area's GET), not only writes."""
    return any(not c.ok and REFUSED in c.seen and not c.seen.startswith(WRITES_ONLY) for c in checks)


def only_suggests(path: Path, settings: Settings) -> bool:
    """True when the pipeline will only suggest for ``path`` (reads only): no Action filled in, or Mode = Suggest.

    Decided as the pipeline decides (:func:`p2e.suggest.file.wants_suggestions`); a file that cannot be
    read is not a suggestion request (it waits with the rest, and is refused once the gate opens)."""
    try:
        sheet = read_workbook(path, max_file_mb=settings.max_file_mb, compact=True)
    except (FileRejected, OSError):
        return False
    return wants_suggestions(sheet)


def run_alma_checks(settings: Settings) -> list["Check"]:
    """``processor.py check``'s Alma lines (address, key, each area read and write, allowance)."""
    from ..check import alma_checks  # check imports watch.lock: imported here, not at the top

    return alma_checks(settings, preview_only=False)


@dataclass
class GateNotice:
    """The one email of an episode (what :class:`p2e.notify.Delivery` needs of an outcome)."""

    settings: Settings
    lines: list[str]
    status: str = "waiting"
    mode: Mode = Mode.APPLY
    problems: list = field(default_factory=list)
    counts: dict[Outcome, int] = field(default_factory=dict)
    results_path: Path | None = None
    run_id: str = NOTICE_ID
    reason_kind: str = "key"
    reads: bool = False  # the key may still read: suggestion requests run

    @property
    def source(self) -> Path:
        return Path("Every file in the inbox")

    @property
    def email_to(self) -> list[str]:
        return list(self.settings.mail_to)

    @property
    def reason(self) -> str:
        return "Alma refused this API key: " + "; ".join(self.lines)

    def summary(self) -> str:
        return (f"The processor checked the API key for {self.settings.alma_description()} and Alma refuses it:\n"
                + "\n".join(f"  - {line}" for line in self.lines)
                + ("\n\nNo file that would change Alma is started while this lasts (a request for suggestions still "
                   "runs: it only reads). Such files wait in the inbox folder " if self.reads else
                   "\n\nNo file is started while this lasts. New files wait in the inbox folder ")
                + f"({self.settings.inbox_dir}); nothing is lost and nothing was changed in Alma. "
                + "Put the key right in Alma's Developer Network (or ALMA_API_KEY in the settings, then restart "
                  f"the watcher). The watcher checks again every {RECHECK_SECONDS / 60:g} minutes and the files "
                  "then run by themselves. Run 'processor.py check' to see every check.")


class KeyGate:
    """Whether the watcher may start a file now; runs the check when it is due (see the module)."""

    def __init__(self, settings: Settings, tell: Callable[[GateNotice], object], *,
                 recheck_seconds: float = RECHECK_SECONDS,
                 checks: Callable[[Settings], Sequence["Check"]] = run_alma_checks):
        self.settings = settings
        self.tell = tell
        self.recheck_seconds = recheck_seconds
        self.checks = checks
        self.shut: list[str] = []           # why the gate is shut; empty: open
        self.reads = True                   # while shut: Alma still lets the key read (suggestion requests go)
        self._kinds: dict[Path, tuple[tuple[int, int], bool]] = {}  # file -> ((size, mtime), only suggests)
        self.checked = False
        self._next_recheck = 0.0            # monotonic
        self._notes: set[Path] = set()      # WAITING notes this gate wrote
        self.daily = schedule.Scheduler()
        self._daily_due = False
        self.daily.every(1).day.do(self._mark_daily)

    def _mark_daily(self) -> None:
        self._daily_due = True

    @property
    def is_open(self) -> bool:
        return not self.shut

    def check_now(self) -> None:
        """Run the check and open or shut the gate by what Alma said."""
        self.checked, self._daily_due = True, False
        try:
            checks = list(self.checks(self.settings))
        except Exception as exc:  # the check itself failed: say so, keep the gate as it was
            log.warning("The pre-flight check could not run (%s); the gate stays %s.", exc,
                        "shut" if self.shut else "open")
            self._next_recheck = time.monotonic() + self.recheck_seconds
            return
        refused = refusals(checks)
        self.reads = not refuses_reading(checks)
        problems = [f"{c.what}: {c.seen.rstrip('. ')}" for c in checks if not c.ok and REFUSED not in c.seen]
        if refused:
            self._shut(refused)
        else:
            self._open()
            if problems:
                log.warning("Pre-flight check: %s. Files still run (the pipeline waits out an outage and "
                            "pauses on the daily allowance).", "; ".join(problems))
            else:
                log.info("Pre-flight check: Alma accepts this key for reading and writing.")
        self._next_recheck = time.monotonic() + self.recheck_seconds

    def allows(self) -> bool:
        """True when a file may start now; runs the check first when it is due."""
        self.daily.run_pending()
        if not self.checked or self._daily_due or (self.shut and time.monotonic() >= self._next_recheck):
            self.check_now()
        return self.is_open

    def allows_file(self, path: Path) -> bool:
        """True when ``path`` may start now: the gate is open, or the key may read and the file only reads."""
        if self.allows():
            return True
        if not self.reads:
            return False
        try:
            stat = path.stat()
        except OSError:
            return False
        version = (stat.st_size, stat.st_mtime_ns)
        known = self._kinds.get(path)
        if known is None or known[0] != version:  # read once per version of the file, not at every look
            known = self._kinds[path] = (version, only_suggests(path, self.settings))
        return known[1]

    def hold(self, path: Path) -> None:
        """A ready file that may not start: say why beside it in the outbox (once per file)."""
        note = Path(self.settings.outbox_dir) / safe_file_name(path.stem, " - WAITING", ".txt")
        if note in self._notes:
            return
        text = (f"{path.name} is waiting in the inbox (written {datetime.now():%Y-%m-%d %H:%M}).\n\n"
                f"{GateNotice(self.settings, self.shut, reads=self.reads).summary()}\n")
        try:
            write_atomic(note, text)
            self._notes.add(note)
        except OSError as exc:
            log.warning("Could not write %s: %s", note, exc)
        log.info("%s waits in the inbox: Alma refuses this API key (see above).", path.name)

    def _shut(self, refused: list[str]) -> None:
        if refused != self.shut:
            log.error("Pre-flight check: Alma refuses this API key, so no file is started until it is put right: %s",
                      "; ".join(refused))
        self.shut = refused
        self.tell(GateNotice(self.settings, refused, reads=self.reads))  # once per episode (STATE_DIR/waiting-notices.json)

    def _open(self) -> None:
        if self.shut:
            log.info("Pre-flight check: Alma accepts this API key again; waiting files proceed.")
        self.shut, self.reads = [], True
        self._kinds.clear()
        forget_told(self.settings, NOTICE_ID)  # the next refusal is a new episode, told again
        for note in sorted(self._notes):
            try:
                note.unlink()
            except OSError:
                pass
        self._notes.clear()
