"""Settings from ``config.env`` and the environment, checked once at start-up.

Environment variables win over the file, so a service manager or a test can override one
setting without editing the file. A missing or invalid setting stops start-up with one
message that names the setting and where it came from; the API key and the SMTP password
are never shown.

>>> s = load_settings(None, environ={"ALMA_API_KEY": "l8xx", "ALMA_REGION": "eu"})
>>> s.base_url
'https://api-eu.hosted.exlibrisgroup.com'
>>> "l8xx" in repr(s)
False
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .model import BibHandling

# Ex Libris's regional API gateways (shared/notes/alma-api.md, "Base URLs").
REGIONS = {
    "na": "https://api-na.hosted.exlibrisgroup.com",
    "eu": "https://api-eu.hosted.exlibrisgroup.com",
    "ap": "https://api-ap.hosted.exlibrisgroup.com",
    "aps": "https://api-aps.hosted.exlibrisgroup.com",
    "ca": "https://api-ca.hosted.exlibrisgroup.com",
    "cn": "https://api-cn.hosted.exlibrisgroup.com.cn",
}

ACTIVE_POL_POLICIES = ("skip", "delete")
SMTP_SECURITY = ("starttls", "ssl", "none")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it and the file it came from."""


@dataclass
class Settings:
    """Every setting the processor reads. Paths are absolute once loaded."""

    alma_api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    region: str | None = None
    inbox_dir: Path = Path("inbox")
    outbox_dir: Path = Path("outbox")
    state_dir: Path = Path("state")
    rate_limit: float | str | None = "auto"  # calls per second, or "auto" (found while a run goes); None: no limit
    rate_max: float = 50.0  # with "auto": never above this
    daily_reserve: int = 5000
    workers: int = 8
    bib_handling: BibHandling = BibHandling.DELETE
    active_pol_policy: str = "skip"
    mms_id_suffix: str | None = None
    institution_code: str | None = None
    sru_base_url: str | None = None  # the whole SRU address up to the institution code (see sru_derived)
    sru_derived: bool = False  # True when SRU_BASE_URL was not set and was worked out from the Alma address
    create_collections: bool = False
    other_system_id_pattern: str | None = None
    http_timeout: float = 30.0
    max_retries: int = 6
    poll_seconds: float = 30.0
    watch_lock_stale_minutes: float = 10.0
    max_file_mb: float = 50.0
    mail_to: list[str] = field(default_factory=list)
    mail_from: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    source: str = "the environment"
    institution: str | None = None  # consortium mode: the CODE of institutions/<CODE>/ (p2e/institutions.py)

    def secrets(self) -> list[str]:
        """Values that must never reach output, logs or workbooks."""
        return [s for s in (self.alma_api_key, self.smtp_password) if s]

    def alma_description(self) -> str:
        """Which Alma this run talks to, for summaries (never the key)."""
        if self.region and self.base_url == REGIONS.get(self.region):
            return f"Alma ({self.region.upper()} region, {self.base_url})"
        return f"Alma-compatible server at {self.base_url}"

    def require_alma(self) -> None:
        """Stop unless the settings needed to call Alma are present."""
        if not self.alma_api_key:
            raise ConfigError(
                f"ALMA_API_KEY is not set in {self.source}. Ask your Alma administrator for an API key "
                "with read/write access to Bibs and Acquisitions, and put it in config.env as ALMA_API_KEY=..."
            )
        if not self.base_url:
            raise ConfigError(
                f"Neither ALMA_REGION nor ALMA_BASE_URL is set in {self.source}. Set ALMA_REGION to one of "
                f"{', '.join(REGIONS)} (the region of your Alma), or ALMA_BASE_URL to the server's address."
            )


def load_settings(
    path: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Settings:
    """Read ``path`` (a config.env file; optional) and the environment into :class:`Settings`.

    Relative folder paths are taken from ``base_dir`` (default: the folder holding the
    config file, else the current folder).
    """
    values, source, base_dir = read_values(path, environ, base_dir)
    return _parse(values, source, base_dir)


def read_values(path: str | os.PathLike | None, environ: Mapping[str, str] | None = None,
                base_dir: Path | None = None) -> tuple[dict[str, str | None], str, Path]:
    """The raw settings of ``path`` with the environment over them: (values, where they came from, base folder)."""
    environ = os.environ if environ is None else environ
    values: dict[str, str | None] = {}
    source = "the environment"
    if path is not None:
        config_path = Path(path)
        if not config_path.is_file():
            raise ConfigError(f"The configuration file {config_path} does not exist. Copy config.env.example to {config_path} and fill it in.")
        values.update(dotenv_values(config_path))
        source = f"{config_path} (or the environment)"
        base_dir = base_dir or config_path.resolve().parent
    base_dir = base_dir or Path.cwd()
    for key, value in environ.items():
        if key.isupper() and (key.startswith(("ALMA_", "SMTP_", "MAIL_")) or key in _OTHER_KEYS):
            values[key] = value
    return values, source, base_dir


# Consortium mode (p2e/institutions.py): settings that belong to one institution only. They are read from
# its own institutions/<CODE>/config.env and never from the shared config.env or the environment, so one
# institution's key, Alma, folders or recipients can never be another's by a slip.
OWN_KEYS = (
    "ALMA_API_KEY", "ALMA_REGION", "ALMA_BASE_URL", "ALMA_INSTITUTION_CODE", "MMS_ID_SUFFIX", "OTHER_SYSTEM_ID_PATTERN",
    "SRU_BASE_URL", "INBOX_DIR", "OUTBOX_DIR", "STATE_DIR", "MAIL_TO",
)


def load_institution(code: str, own: Path, shared: Mapping[str, str | None], shared_source: str) -> Settings:
    """One institution's settings: its own ``config.env`` over the shared values (file and environment).

    Its folders default to ``inbox``, ``outbox`` and ``state`` inside its own folder.
    """
    stray = [key for key in OWN_KEYS if (shared.get(key) or "").strip()]
    if stray:
        raise ConfigError(f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} set in {shared_source}, shared by every "
                          f"institution. In a consortium each institution's {', '.join(stray)} go{'es' if len(stray) == 1 else ''} "
                          f"in its own institutions/<CODE>/config.env only: move {'it' if len(stray) == 1 else 'them'} there.")
    if not own.is_file():
        raise ConfigError(f"The institution {code} has no settings file {own}. Create it (see docs/operations.md, "
                          "\"A consortium\").")
    values = {**shared, **dotenv_values(own)}
    settings = _parse(values, f"{own} (over {shared_source})", own.resolve().parent)
    settings.institution = code
    return settings


_OTHER_KEYS = {
    "INBOX_DIR", "OUTBOX_DIR", "STATE_DIR", "WORKERS", "BIB_HANDLING", "ACTIVE_POL_POLICY",
    "MMS_ID_SUFFIX", "OTHER_SYSTEM_ID_PATTERN", "HTTP_TIMEOUT", "MAX_RETRIES", "POLL_SECONDS", "MAX_FILE_MB",
    "WATCH_LOCK_STALE_MINUTES", "SRU_BASE_URL", "CREATE_COLLECTIONS", "INSTITUTIONS_DIR",
}
KNOWN_KEYS = _OTHER_KEYS | {
    "ALMA_INSTITUTION_CODE", "ALMA_API_KEY", "ALMA_REGION", "ALMA_BASE_URL", "ALMA_RATE_LIMIT", "ALMA_DAILY_RESERVE",
    "ALMA_RATE_MAX",
    "SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM", "MAIL_TO",
}


def _parse(values: Mapping[str, str | None], source: str, base_dir: Path) -> Settings:
    def get(key: str) -> str | None:
        value = values.get(key)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def number(key: str, default: float, kind=float, minimum: float = 0, example: str = "") -> float:
        raw = get(key)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{key} in {source} must be a {'whole ' if kind is int else ''}number{example}; it is '{raw}'.") from None
        if value < minimum or (minimum == 0 and value == 0 and key in ("ALMA_RATE_LIMIT", "ALMA_RATE_MAX", "WORKERS", "POLL_SECONDS", "HTTP_TIMEOUT", "MAX_FILE_MB",
                                                                 "WATCH_LOCK_STALE_MINUTES")):
            raise ConfigError(f"{key} in {source} must be more than {minimum:g}; it is '{raw}'.")
        return value

    def folder(key: str, default: str) -> Path:
        raw = get(key) or default
        p = Path(os.path.expandvars(os.path.expanduser(raw)))
        return p if p.is_absolute() else (base_dir / p).resolve()

    s = Settings(source=source)
    s.alma_api_key = get("ALMA_API_KEY")
    region = get("ALMA_REGION")
    if region is not None:
        region = region.lower()
        if region not in REGIONS:
            raise ConfigError(f"ALMA_REGION in {source} must be one of {', '.join(REGIONS)}; it is '{region}'.")
        s.region = region
        s.base_url = REGIONS[region]
    base_url = get("ALMA_BASE_URL")
    if base_url is not None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"ALMA_BASE_URL in {source} must start with https:// (or http:// for a local test server); it is '{base_url}'.")
        s.base_url = base_url.rstrip("/")
        if s.base_url.endswith("/almaws/v1"):
            s.base_url = s.base_url[: -len("/almaws/v1")]
    s.inbox_dir = folder("INBOX_DIR", "inbox")
    s.outbox_dir = folder("OUTBOX_DIR", "outbox")
    s.state_dir = folder("STATE_DIR", "state")
    if (get("ALMA_RATE_LIMIT") or "auto").lower() == "auto":
        s.rate_limit = "auto"
    else:
        s.rate_limit = number("ALMA_RATE_LIMIT", 25.0, example=" of calls per second, such as 25, or auto")
    s.rate_max = number("ALMA_RATE_MAX", 50.0, example=" of calls per second, such as 50")
    s.daily_reserve = int(number("ALMA_DAILY_RESERVE", 5000, int, example=" of API calls to leave for other systems, such as 5000"))
    s.workers = int(number("WORKERS", 8, int, example=" of rows worked on at once, such as 4"))
    s.http_timeout = number("HTTP_TIMEOUT", 30.0, example=" of seconds, such as 30")
    s.max_retries = int(number("MAX_RETRIES", 6, int, example=", such as 6"))
    s.poll_seconds = number("POLL_SECONDS", 30.0, example=" of seconds, such as 30")
    s.max_file_mb = number("MAX_FILE_MB", 50.0, example=" of megabytes, such as 50")
    s.watch_lock_stale_minutes = number("WATCH_LOCK_STALE_MINUTES", 10.0, example=" of minutes, such as 10")
    handling = get("BIB_HANDLING")
    if handling is not None:
        parsed = BibHandling.parse(handling)
        if parsed is None:
            raise ConfigError(f"BIB_HANDLING in {source} must be delete, suppress or keep; it is '{handling}'.")
        s.bib_handling = parsed
    policy = get("ACTIVE_POL_POLICY")
    if policy is not None:
        if policy.lower() not in ACTIVE_POL_POLICIES:
            raise ConfigError(f"ACTIVE_POL_POLICY in {source} must be skip or delete; it is '{policy}'.")
        s.active_pol_policy = policy.lower()
    suffix = get("MMS_ID_SUFFIX")
    if suffix is not None:
        if not suffix.isdigit():
            raise ConfigError(f"MMS_ID_SUFFIX in {source} must be digits only (for example 12205899); it is '{suffix}'.")
        s.mms_id_suffix = suffix
    code = get("ALMA_INSTITUTION_CODE")
    if code is not None:
        if not re.fullmatch(r"[A-Za-z0-9_]+", code):
            raise ConfigError(f"ALMA_INSTITUTION_CODE in {source} must be letters, digits and _ only (for example 01CARLI_UIU); it is '{code}'.")
        s.institution_code = code
    sru = get("SRU_BASE_URL")
    if sru is not None:
        if not sru.startswith(("http://", "https://")):
            raise ConfigError(f"SRU_BASE_URL in {source} must start with https:// (for example https://na01.alma.exlibrisgroup.com/view/sru/01CARLI_UIU); it is '{sru}'.")
        s.sru_base_url = sru.rstrip("/")
    if s.sru_base_url is None and s.institution_code and s.base_url:
        # Ex Libris writes the SRU address as https://<Alma host>/view/sru/<INSTITUTION_CODE>. The host is the
        # institution's Alma domain, which for a real Alma is usually not the API gateway: set SRU_BASE_URL
        # (docs/alma-behaviour.md). For the sandbox and an Alma-compatible server it is the same host.
        parts = urlsplit(s.base_url)
        s.sru_base_url = f"{parts.scheme}://{parts.netloc}/view/sru/{s.institution_code}"
        s.sru_derived = True
    create = get("CREATE_COLLECTIONS")
    if create is not None:
        if create.lower() not in ("yes", "no"):
            raise ConfigError(f"CREATE_COLLECTIONS in {source} must be yes or no; it is '{create}'.")
        s.create_collections = create.lower() == "yes"
    pattern = get("OTHER_SYSTEM_ID_PATTERN")
    if pattern is not None:
        if "{bib_id}" not in pattern:
            raise ConfigError(f"OTHER_SYSTEM_ID_PATTERN in {source} must contain {{bib_id}}, for example (UIUdb){{bib_id}}; it is '{pattern}'.")
        s.other_system_id_pattern = pattern
    s.mail_to = [a.strip() for a in (get("MAIL_TO") or "").replace(";", ",").split(",") if a.strip()]
    s.mail_from = get("MAIL_FROM")
    s.smtp_host = get("SMTP_HOST")
    security = (get("SMTP_SECURITY") or "none").lower()
    if security not in SMTP_SECURITY:
        raise ConfigError(f"SMTP_SECURITY in {source} must be starttls, ssl or none; it is '{security}'.")
    s.smtp_security = security
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
    s.smtp_port = int(number("SMTP_PORT", default_port, int, example=" such as 587"))
    s.smtp_user = get("SMTP_USER")
    s.smtp_password = get("SMTP_PASSWORD")
    return s
