"""The audit log: every Alma call as one JSON line, per run (``OUTBOX_DIR/audit/``).

The client hands each call's record to the log; the API key and other secrets never reach the file.

>>> import tempfile, json
>>> log = AuditLog(Path(tempfile.mkdtemp()) / "run.jsonl", secrets=["l8xx-secret"])
>>> log({"method": "GET", "query": {"apikey": "l8xx-secret"}})
>>> log.close()
>>> json.loads(log.path.read_text())["query"]["apikey"]
'***'
"""
from __future__ import annotations

import json
import threading
from pathlib import Path


class AuditLog:
    """Every Alma call as one JSON line. Thread-safe; the API key never reaches it."""

    def __init__(self, path: Path, secrets: list[str]):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._secrets = [s for s in secrets if s]
        self._lock = threading.Lock()
        self._handle = open(path, "a", encoding="utf-8")

    def __call__(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False)
        for secret in self._secrets:
            line = line.replace(secret, "***")
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            self._handle.close()
