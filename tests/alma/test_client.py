"""The Alma client: Alma's error envelope, typed errors, and what it sends."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from p2e.alma.client import AlmaClient
from p2e.alma.errors import AlmaAuthError, AlmaError, AlmaUnavailable, DailyThresholdReached, parse_error_body

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "alma-examples"


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared/alma-examples is not beside this checkout")
@pytest.mark.parametrize("name, code, message, tracking", [
    ("error_400_402204_json.json", "402204", "Input parameters mmsId banana is not numeric.", "E01-0312225307-JJDGC-AWAE1735835386"),
    ("error_400_402203_json.json", "402203", "Input parameters mmsId 99100401219703811 is not valid.", "E02-2706205445-WZJWP-AWAE1632347523"),
    ("error_400_401877_json.json", "401877", "Failed to receive the PO Line item. Errors: Item already received ; ", "E01-0402145830-9REAA-AWAE1404857432"),
    ("error_429_per_second_threshold_json.json", "PER_SECOND_THRESHOLD", "HTTP requests are more than allowed per second", "E01-0101190932-VOBYO-AWAE1554214409"),
    ("error_400_402203_xml.xml", "402203", None, None),
])
def test_real_alma_error_envelopes_are_read_with_code_message_and_tracking_id(name, code, message, tracking):
    parsed = parse_error_body((EXAMPLES / name).read_text(encoding="utf-8"))
    assert parsed is not None and parsed[0] == code
    if message is not None:
        assert parsed[1:] == (message, tracking)


def test_a_successful_record_is_not_mistaken_for_an_error():
    assert parse_error_body(json.dumps({"mms_id": "991", "title": "errorsExist is only a word here"})) is None
    assert parse_error_body("") is None


class _Fixed(BaseHTTPRequestHandler):
    """Answers every request with the (status, body, headers) queued on the server."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers), body_in))
        status, body, headers = self.server.answers.pop(0) if self.server.answers else (200, b"{}", {})
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = do_POST = _answer


@pytest.fixture
def fixed_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fixed)
    server.answers, server.seen = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server, **kwargs) -> AlmaClient:
    return AlmaClient(f"http://127.0.0.1:{server.server_address[1]}", "l8xx-key", rate_limit=None,
                      backoff_base=0.001, **kwargs)


def envelope(code: str, message: str) -> bytes:
    return json.dumps({"errorsExist": True, "errorList": {"error": [
        {"errorCode": code, "errorMessage": message, "trackingId": "E01-1"}]}, "result": None}).encode()


def test_requests_carry_the_key_in_the_header_and_ask_for_json(fixed_server):
    client = _client(fixed_server)
    client.get_bib("99123")
    method, path, headers, _ = fixed_server.seen[0]
    assert (method, path) == ("GET", "/almaws/v1/bibs/99123?view=full")
    assert headers["Authorization"] == "apikey l8xx-key" and headers["Accept"] == "application/json"
    assert "apikey" not in path


def test_an_error_envelope_becomes_a_typed_error_that_keeps_what_alma_said(fixed_server):
    fixed_server.answers.append((400, envelope("60123", "Failed to find the Portfolio ID."), {}))
    with pytest.raises(AlmaError) as exc:
        _client(fixed_server).get_portfolio("99123", "53123")
    assert (exc.value.code, exc.value.alma_message, exc.value.tracking_id) == ("60123", "Failed to find the Portfolio ID.", "E01-1")
    assert exc.value.not_found


def test_a_200_that_carries_an_error_envelope_is_an_error(fixed_server):
    fixed_server.answers.append((200, envelope("401876", "Failed to update PO Line."), {}))
    with pytest.raises(AlmaError, match="401876"):
        _client(fixed_server).get_po_line("POL-1")


def test_unauthorized_and_daily_threshold_are_told_apart(fixed_server):
    fixed_server.answers.append((400, envelope("UNAUTHORIZED", "API-key not defined or not configured to allow this API."), {}))
    with pytest.raises(AlmaAuthError):
        _client(fixed_server).get_bib("99123")
    fixed_server.answers.append((429, envelope("DAILY_THRESHOLD", "Daily threshold reached."), {}))
    with pytest.raises(DailyThresholdReached):
        _client(fixed_server).get_bib("99123")
    assert len(fixed_server.seen) == 2  # the daily threshold is not retried


def test_per_second_threshold_and_server_errors_are_retried_then_succeed(fixed_server):
    fixed_server.answers += [(429, envelope("PER_SECOND_THRESHOLD", "HTTP requests are more than allowed per second"),
                              {"Retry-After": "0"}), (500, b"oops", {}), (200, b'{"mms_id": "99123"}', {"X-Exl-Api-Remaining": "4321"})]
    client = _client(fixed_server)
    assert client.get_bib("99123") == {"mms_id": "99123"}
    assert len(fixed_server.seen) == 3
    assert client.stats.throttled == 1 and client.stats.retries == 2 and client.stats.remaining == 4321


def test_a_write_answered_with_5xx_is_read_before_it_is_sent_again(fixed_server):
    # The DELETE's answer is a 500; the read-back finds the portfolio gone, so no second DELETE.
    fixed_server.answers += [(500, b"", {}), (400, envelope("60123", "Failed to find the Portfolio ID."), {})]
    _client(fixed_server).delete_portfolio("99123", "53123", bib="delete")
    assert [m for m, *_ in fixed_server.seen] == ["DELETE", "GET"]


def test_retries_run_out_with_a_plain_error(fixed_server):
    fixed_server.answers += [(503, b"", {})] * 3
    with pytest.raises(AlmaUnavailable, match="HTTP 503"):
        _client(fixed_server, max_retries=2).get_bib("99123")
    assert len(fixed_server.seen) == 3
