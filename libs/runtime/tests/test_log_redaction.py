"""What the services log (JSON lines) carries no secret: bearer tokens, JWTs, credentials in URLs."""

from __future__ import annotations

import json
import logging

from onepool_runtime.telemetry import JsonFormatter


def _logged(message: str, *args: object) -> str:
    record = logging.LogRecord("onepool.test", logging.WARNING, __file__, 1, message, args, None)
    return str(json.loads(JsonFormatter().format(record))["msg"])


def test_credentials_in_urls_are_redacted_keeping_where_they_point() -> None:
    line = _logged(
        "NATS at %s not reachable yet (%s); retrying",
        "nats://ops:s3cret@nats-0:4222,nats://t0ken@nats-1:4222,nats://nats-2:4222",
        "postgresql+asyncpg://onepool:pw@db:5432/onepool",
    )
    assert "s3cret" not in line and "t0ken" not in line and ":pw@" not in line
    assert "nats://[REDACTED]@nats-0:4222,nats://[REDACTED]@nats-1:4222,nats://nats-2:4222" in line
    assert "postgresql+asyncpg://[REDACTED]@db:5432/onepool" in line


def test_bearer_tokens_and_jwts_are_redacted() -> None:
    line = _logged("refused Bearer abc.def-1 and eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl")
    assert line == "refused Bearer [REDACTED] and [REDACTED]"
