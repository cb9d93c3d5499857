"""Logging: a rotating file in STATE_DIR/logs, and no secret ever written to it."""
from __future__ import annotations

import io
import logging
import logging.handlers
from dataclasses import replace

import pytest

from p2e.config import load_settings
from p2e.logs import SecretFilter, mask, setup_logging

KEY = "l8xx0123456789abcdefSECRETKEY"
PASSWORD = "hunter2-smtp-pass"


@pytest.fixture
def settings(tmp_path):
    base = load_settings(None, environ={"ALMA_API_KEY": KEY, "SMTP_PASSWORD": PASSWORD}, base_dir=tmp_path)
    yield base
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_p2e", False)]:
        root.removeHandler(handler)
        handler.close()


def test_the_log_file_is_in_state_dir_and_rotates(settings):
    path = setup_logging(settings, console=None)
    assert path == settings.state_dir / "logs" / "p2e.log"
    logging.getLogger("p2e.watch").info("Picked up %s.", "UIU p2e.xlsx")
    assert "Picked up UIU p2e.xlsx." in path.read_text(encoding="utf-8")
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_p2e", False)]
    assert len(handlers) == 1 and isinstance(handlers[0], logging.handlers.RotatingFileHandler)
    assert handlers[0].maxBytes > 0 and handlers[0].backupCount > 0


def test_calling_setup_again_does_not_double_every_line(settings):
    setup_logging(settings, console=None)
    path = setup_logging(settings, console=None)
    logging.getLogger("p2e").warning("once")
    assert path.read_text(encoding="utf-8").count("once") == 1


def test_the_api_key_and_smtp_password_never_reach_the_log_file_or_console(settings):
    console = io.StringIO()
    path = setup_logging(settings, console=console)
    log = logging.getLogger("p2e.test")
    log.info("Calling Alma with key %s", KEY)
    log.warning(f"login as library with {PASSWORD} failed")
    log.info("GET https://api-na.hosted.exlibrisgroup.com/almaws/v1/bibs?apikey=%s&view=brief", KEY)
    try:
        raise RuntimeError(f"Authorization: apikey {KEY} refused; password {PASSWORD}")
    except RuntimeError:
        log.exception("Something failed")
    logged = path.read_text(encoding="utf-8")
    shown = console.getvalue()
    for text in (logged, shown):
        assert KEY not in text and PASSWORD not in text
        assert "Calling Alma with key ****" in text
        assert "login as library with **** failed" in text
        assert "apikey=****&view=brief" in text
    assert "RuntimeError: Authorization: apikey **** refused; password ****" in logged  # tracebacks too


def test_an_apikey_in_a_url_is_masked_even_when_it_is_not_the_configured_key():
    assert mask("GET /almaws/v1/bibs/99123?apikey=l8xxOTHERKEY123&view=full", []) == \
        "GET /almaws/v1/bibs/99123?apikey=****&view=full"


def test_the_filter_keeps_every_record_and_masks_arguments_of_any_type():
    record = logging.LogRecord("p2e", logging.INFO, __file__, 1, "settings: %r", ({"key": KEY},), None)
    assert SecretFilter([KEY, None, ""]).filter(record) is True
    assert record.getMessage() == "settings: {'key': '****'}"


def test_a_settings_without_secrets_logs_normally(tmp_path):
    settings = replace(load_settings(None, environ={}, base_dir=tmp_path))
    path = setup_logging(settings, console=None)
    try:
        logging.getLogger("p2e").info("no secrets here")
        assert "no secrets here" in path.read_text(encoding="utf-8")
    finally:
        for handler in [h for h in logging.getLogger().handlers if getattr(h, "_p2e", False)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
