"""Logging writes to sys.stderr as it is at each record: a command configured under a test runner's swapped,
later closed, stderr must not leave the process logging into a closed file."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.telemetry import configure_logging


def test_logging_configured_under_a_swapped_stderr_follows_stderr_after_it_is_closed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    swapped = io.StringIO()
    try:
        monkeypatch.setattr(sys, "stderr", swapped)
        configure_logging(ServiceSettings(service_name="t", log_json=False))
        logging.getLogger("t").warning("under the runner")
        swapped.close()  # the runner is done with its buffer
        monkeypatch.undo()
        logging.getLogger("t").warning("after the runner")
    finally:
        root.handlers[:], root.level = kept, level
    err = capsys.readouterr().err
    assert "after the runner" in err and "Logging error" not in err, err
