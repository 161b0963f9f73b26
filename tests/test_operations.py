"""Operations: JSON logs in production, Sentry only when SENTRY_DSN is set."""

import json
import logging
import subprocess
import sys
from pathlib import Path

from config.logging import JsonFormatter

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "test-secret-key-for-operations-test-0123456789abcdef",
    "ALLOWED_HOSTS": "concord.example",
    "PATH": "/usr/bin:/bin",
}


def test_a_log_record_is_one_json_line_with_its_extras_and_traceback():
    record = logging.LogRecord(
        "concord.jobs", logging.ERROR, __file__, 1, "job %s failed", ("x",), None
    )
    record.job = "close_rounds"
    record.alliance_ids = [1, 2]
    record.unserialisable = object()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line  # one line, the traceback escaped inside it
    entry = json.loads(line)
    assert entry["message"] == "job x failed" and entry["level"] == "ERROR"
    assert entry["logger"] == "concord.jobs" and entry["time"].endswith("+00:00")
    assert entry["job"] == "close_rounds" and entry["alliance_ids"] == [1, 2]
    assert entry["unserialisable"].startswith("<object")
    assert "RuntimeError: boom" in entry["exc_info"]


def _run(code: str, **env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**PRODUCTION, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_production_logs_are_json_and_development_logs_are_text():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('concord').warning('hello %s', 'ops', extra={'round': 7})"
    )
    entry = json.loads(_run(code).strip().splitlines()[-1])
    assert entry["message"] == "hello ops" and entry["round"] == 7
    text = _run(code, DEBUG="1").strip().splitlines()[-1]
    assert "WARNING concord: hello ops" in text and not text.startswith("{")


def test_sentry_starts_only_with_a_dsn():
    code = (
        "import django; django.setup(); import sentry_sdk; "
        "print(sentry_sdk.get_client().is_active())"
    )
    assert _run(code).strip().endswith("False")
    dsn = "https://public@o0.ingest.sentry.io/0"
    assert _run(code, SENTRY_DSN=dsn).strip().endswith("True")
