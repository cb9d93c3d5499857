"""The institution registry: one library (``config.env``), or a consortium (``institutions/<CODE>/``).

With no ``institutions/`` folder beside the shared ``config.env`` (and no ``INSTITUTIONS_DIR``
setting), nothing changes: one institution, from ``config.env`` and the environment. With one,
each sub-folder holding a ``config.env`` is an institution; its file is laid over the shared
``config.env`` (and the environment), which holds the defaults (SMTP, rate, reserve, workers...).
The settings that belong to one institution only (``config.OWN_KEYS``: key, address, suffix,
folders, recipients) come from its own file alone, and no two institutions may share a key or a
folder, so a file in one inbox can never reach another institution's Alma.

    registry = load_registry(Path("config.env"))       # None: a single library, as before
    for inst in registry or []:
        inst.code, inst.settings.inbox_dir

Logging (:func:`setup_consortium_logging`): each institution's ``STATE_DIR/logs/p2e.log`` gets
the records of its own watcher's threads (named ``p2e-<CODE>``), and the shared state folder's
``logs/consortium.log`` gets every record. Every handler masks every institution's secrets.

>>> thread_institution("p2e-UIU"), thread_institution("p2e-UIU-heartbeat"), thread_institution("row_0")
('UIU', 'UIU', None)
"""
from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, TextIO

from .config import ConfigError, Settings, load_institution, read_values
from .logs import BACKUP_COUNT, MAX_BYTES, SecretFilter

CONFIG_NAME = "config.env"
DEFAULT_DIR = "institutions"
CODE = re.compile(r"[A-Za-z0-9_]+")
THREAD_PREFIX = "p2e-"  # an institution's watcher thread is "p2e-<CODE>"; threads it starts add "-<what>"


@dataclass
class Institution:
    code: str
    settings: Settings


@dataclass
class Registry:
    """The consortium: its institutions, and the shared state folder (the consortium's own log)."""

    folder: Path
    institutions: list[Institution]
    shared_state: Path

    def __iter__(self):
        return iter(self.institutions)

    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.institutions]

    def pick(self, code: str) -> Institution:
        """The institution ``code`` (any capitals), or a ConfigError naming those there are."""
        for inst in self.institutions:
            if inst.code.lower() == code.lower():
                return inst
        raise ConfigError(f"There is no institution {code} in {self.folder}; there are: {', '.join(self.codes)}.")

    def secrets(self) -> list[str]:
        return [s for inst in self.institutions for s in inst.settings.secrets()]


def load_registry(shared: Path | None, environ: Mapping[str, str] | None = None,
                  base_dir: Path | None = None) -> Registry | None:
    """The consortium beside the shared config file ``shared`` (or INSTITUTIONS_DIR), or None for one library."""
    values, source, base = read_values(shared, environ, base_dir)
    setting = (values.get("INSTITUTIONS_DIR") or "").strip()
    folder = Path(setting) if setting else Path(DEFAULT_DIR)
    folder = folder if folder.is_absolute() else (base / folder).resolve()
    if not folder.is_dir():
        if setting:
            raise ConfigError(f"INSTITUTIONS_DIR in {source} is {setting}, but there is no folder {folder}.")
        return None
    found = sorted((p for p in folder.iterdir() if p.is_dir() and (p / CONFIG_NAME).is_file()), key=lambda p: p.name)
    if not found:
        raise ConfigError(f"The institutions folder {folder} holds no <CODE>/{CONFIG_NAME}. Add one folder per "
                          f"institution, or remove {folder} to run for a single library from {CONFIG_NAME}.")
    institutions = []
    for path in found:
        if not CODE.fullmatch(path.name):
            raise ConfigError(f"The institution folder {path} must be named with letters, digits and _ only "
                              "(its institution code, for example UIU).")
        institutions.append(Institution(path.name, load_institution(path.name, path / CONFIG_NAME, values, source)))
    _check_apart(institutions)
    shared_state = Path((values.get("STATE_DIR") or "").strip() or "state")
    return Registry(folder, institutions, shared_state if shared_state.is_absolute() else (base / shared_state).resolve())


def _check_apart(institutions: list[Institution]) -> None:
    """No two institutions share an API key or a folder (nor one folder inside another's)."""
    keys: dict[str, str] = {}
    for inst in institutions:
        key = inst.settings.alma_api_key
        if key and key in keys:
            raise ConfigError(f"The institutions {keys[key]} and {inst.code} have the same ALMA_API_KEY. Each "
                              "institution needs its own key, from its own Alma's Developer Network.")
        if key:
            keys[key] = inst.code
    folders = [(inst.code, name, Path(getattr(inst.settings, attr)).resolve())
               for inst in institutions
               for name, attr in (("INBOX_DIR", "inbox_dir"), ("OUTBOX_DIR", "outbox_dir"), ("STATE_DIR", "state_dir"))]
    for i, (code_a, name_a, a) in enumerate(folders):
        for code_b, name_b, b in folders[i + 1:]:
            if code_a != code_b and (a == b or a in b.parents or b in a.parents):
                raise ConfigError(f"{name_a} of {code_a} ({a}) and {name_b} of {code_b} ({b}) overlap. Each "
                                  "institution needs folders of its own, so its files never reach another's Alma.")


# -- logging ---------------------------------------------------------------------------------------
def thread_institution(thread_name: str) -> str | None:
    """The institution a thread works for, from its name (``p2e-UIU``, ``p2e-UIU-heartbeat``), or None."""
    if not thread_name.startswith(THREAD_PREFIX):
        return None
    code = thread_name[len(THREAD_PREFIX):].split("-", 1)[0]
    return code if CODE.fullmatch(code) else None


class OneInstitution(logging.Filter):
    """Let through only the records of one institution's threads."""

    def __init__(self, code: str):
        super().__init__()
        self.code = code

    def filter(self, record: logging.LogRecord) -> bool:
        return thread_institution(record.threadName or "") == self.code


def setup_consortium_logging(registry: Registry, *, console: TextIO | None = sys.stderr,
                             level: int = logging.INFO) -> Path:
    """One log per institution plus the consortium's log (see the module); returns the consortium log's path."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_p2e", False)]:
        root.removeHandler(handler)
        handler.close()
    secrets = SecretFilter(registry.secrets())
    shared = registry.shared_state / "logs" / "consortium.log"
    handlers: list[logging.Handler] = [_file(shared)]
    unwritable = []
    for inst in registry:
        try:
            handler = _file(Path(inst.settings.state_dir) / "logs" / "p2e.log")
        except OSError as exc:  # its state folder is broken: its records are in the consortium log only
            unwritable.append(f"{inst.code}'s log cannot be written ({exc}); its lines are in {shared} only.")
            continue
        handler.addFilter(OneInstitution(inst.code))
        handlers.append(handler)
    if console is not None:
        stream = logging.StreamHandler(console)
        stream.setFormatter(logging.Formatter("%(asctime)s [%(threadName)s] %(message)s", "%H:%M:%S"))
        handlers.append(stream)
    for handler in handlers:
        handler.addFilter(secrets)
        handler.setLevel(level)
        handler._p2e = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "mail.log", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for line in unwritable:
        logging.getLogger("p2e.watch").error("%s", line)
    return shared


def _file(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s [%(threadName)s] %(name)s: %(message)s"))
    return handler
