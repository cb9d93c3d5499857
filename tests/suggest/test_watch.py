"""A raw P2E report dropped in the inbox: the watcher routes it to the suggestion step, files it in done/,
leaves '<file> - SUGGESTED <date>.xlsx' in the outbox and emails it (a real SMTP server)."""
from __future__ import annotations

from dataclasses import replace

import openpyxl

from p2e.sandbox import Sandbox
from p2e.watch import Folders, watch
from tests.conftest import STAFF, SYSTEMS, mail_settings, outbox, staff_files

from .library import SUFFIX, build, raw_report


def test_a_dropped_raw_report_comes_back_suggested_and_by_email(settings_for, smtp_server):
    seed, rows = build()
    with Sandbox.start(seed=seed) as sb:
        settings = replace(mail_settings(settings_for, sb, smtp_server.port), mms_id_suffix=SUFFIX)
        path = raw_report(settings.inbox_dir / "UIU P2E report.xlsx", rows)
        wb = openpyxl.load_workbook(path)
        wb["Settings"].append(["Email results to", STAFF])
        wb.save(path)

        assert watch(settings, once=True, settle_seconds=0.1) == 0

        # The watcher's pre-flight check asks Alma whether the key may write (POST .../test, which changes
        # nothing); the suggestion step itself sends no other method than GET.
        others = [(r["method"], r["path"].split("?")[0]) for r in sb.requests if r["method"] != "GET"]
        assert others and set(others) <= {("POST", "/almaws/v1/bibs/test"), ("POST", "/almaws/v1/acq/test")}
    folders = Folders.of(settings)
    [done] = staff_files(folders.done)
    assert done.startswith("UIU P2E report - processed ")
    [suggested] = outbox(settings, "SUGGESTED")
    assert suggested.name.startswith("UIU P2E report - SUGGESTED ")
    [message] = smtp_server.messages
    assert smtp_server.recipients[0] == [STAFF, SYSTEMS]
    assert message["Subject"] == "P2E clean-up: suggestions for UIU P2E report.xlsx are ready to review"
    body = message.get_body(("plain",)).get_content()
    assert "2 delete, 1 relink (strong matches)" in body and "Nothing was changed in Alma" in body
    name, workbook = smtp_server.attachment()
    assert name == suggested.name and "Why" in [c.value for c in workbook["P2E"][1]]
