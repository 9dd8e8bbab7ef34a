"""A NATS port that refuses connections fails a command at once, with the one line every command prints (it
waited out the 5 s connect bound: nats-py's first connect kept retrying a refused server every 0.2 s)."""

from __future__ import annotations

import time

import pytest
import typer
from onepool_cli import natsconn
from onepool_runtime.embedded import free_port


def _never(nc: object) -> object:
    raise AssertionError("connected to a port nothing listens on")


@pytest.mark.parametrize("servers", [1, 2])
def test_a_refused_connection_fails_at_once(servers: int, capsys: pytest.CaptureFixture[str]) -> None:
    url = ",".join(f"nats://127.0.0.1:{free_port()}" for _ in range(servers))  # free: nothing listens there
    started = time.monotonic()
    with pytest.raises(typer.Exit) as exited:
        natsconn.run(url, _never)  # type: ignore[arg-type]
    took = time.monotonic() - started
    assert exited.value.exit_code == 1
    said = capsys.readouterr().err
    assert f"NATS at {url} is not reachable: ConnectionRefusedError" in said.replace("\n", ""), said
    assert took < 1.5, f"a refused connection took {took:.1f} s to report"
