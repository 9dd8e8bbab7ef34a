"""What `onepool up` prints once everything serves holds no credential: the banner shows the NATS URL (and the
database URL) redacted, and the `export` line for the operator tools carries only URLs without a secret, in
full, so that pasting it works; for the others it says to export one's own. The line also carries the
services' addresses (`channels rebuild` failed UNAVAILABLE on 127.0.0.1:50052 with a stack on other ports, and
would have rebuilt from another stack's inventory there). Its table is whole in a log file (it cut the gateway's
and the metrics URLs at 80 columns: "http://127.0.0.1:5…")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from onepool_cli import up
from onepool_cli.services import SERVICES

PORTS = {svc.name: 50051 + i for i, svc in enumerate(SERVICES)}
ADDRESSES = [f"ONEPOOL_{name.upper()}_ADDR=127.0.0.1:{port}" for name, port in PORTS.items()]


def _banner(capsys: pytest.CaptureFixture[str], database_url: str, nats_url: str) -> str:
    up._print_banner(PORTS, {}, "127.0.0.1", "http://127.0.0.1:8080", database_url, nats_url, Path("/tmp/logs"))
    return capsys.readouterr().out


def _export_line(out: str) -> str:
    [line] = [ln for ln in out.splitlines() if ln.strip().startswith("export ")]
    return line


def test_no_password_or_nats_token_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    out = _banner(
        capsys, "postgresql://onepool:PgS3cret@db.internal:5432/onepool", "nats://op:S3cretNatsPw@127.0.0.1:4222"
    )
    assert "S3cretNatsPw" not in out and "PgS3cret" not in out, out
    out = _banner(capsys, "postgresql://postgres@127.0.0.1:5432/onepool", "nats://NatsT0ken@127.0.0.1:4222")
    assert "NatsT0ken" not in out, out


def test_the_export_line_pastes_as_it_is(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """No masked URL in it (`***` or [REDACTED] would make the tools fail); credential-free URLs in full."""
    out = _banner(capsys, "postgresql://onepool:PgS3cret@db.internal:5432/onepool", "nats://127.0.0.1:4222")
    line = _export_line(out)
    assert line.split() == ["export", "ONEPOOL_NATS_URL=nats://127.0.0.1:4222", *ADDRESSES], out
    hints = out.split("For the operator tools", 1)[1].split("Try:", 1)[0]
    assert "***" not in hints and "REDACTED" not in hints, out
    assert "ONEPOOL_DATABASE_URL" in hints.split(line, 1)[1], out  # told to export its own

    embedded = "postgresql://postgres@127.0.0.1:55432/onepool"
    out = _banner(capsys, embedded, "nats://127.0.0.1:54222")
    line = _export_line(out)
    # What a shell makes of the line: exactly the URLs `up` gave its services.
    script = f'{line}\necho "$ONEPOOL_DATABASE_URL|$ONEPOOL_NATS_URL|$ONEPOOL_INVENTORY_ADDR"'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"{embedded}|nats://127.0.0.1:54222|127.0.0.1:50052", out


def test_the_export_line_names_where_the_services_are(capsys: pytest.CaptureFixture[str]) -> None:
    """With another port base, what `channels rebuild`, `seed` and `demo` need to reach this stack's services."""
    ports = {svc.name: 51151 + i for i, svc in enumerate(SERVICES)}
    up._print_banner(ports, {}, "127.0.0.1", "http://127.0.0.1:8080", "postgresql://h/db", "nats://h:4222", Path("/l"))
    line = _export_line(capsys.readouterr().out)
    for name, port in ports.items():
        assert f"ONEPOOL_{name.upper()}_ADDR=127.0.0.1:{port}" in line.split(), line


def test_the_table_is_whole_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = {svc.name: 59320 + i for i, svc in enumerate(SERVICES)}
    up._print_banner(PORTS, metrics, "127.0.0.1", "http://127.0.0.1:58182", "postgresql://h/db", "nats://h", Path("/l"))
    table = capsys.readouterr().out.split("Web (Connect", 1)[0]
    assert "…" not in table, table
    assert "http://127.0.0.1:58182 " in table and "onepool.settlement.v1.SettlementService" in table, table
    for port in [*metrics.values(), 59325]:
        assert f"http://127.0.0.1:{port}/metrics" in table, table


def test_both_secret_urls_leave_no_export_to_paste() -> None:
    hint = up.export_hint("postgresql://u:p@h/db", "nats://u:p@h:4222")
    assert "export ONEPOOL" not in hint and "u:p" not in hint
    assert "ONEPOOL_DATABASE_URL and ONEPOOL_NATS_URL" in hint and hint.lstrip().startswith("#")


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("postgresql://postgres@127.0.0.1:5432/onepool", False),  # a user name alone
        ("postgresql+asyncpg://u:pw@h/db", True),
        ("postgresql://h/db?user=u&password=pw", True),
        ("nats://127.0.0.1:4222", False),
        ("nats://a:4222,nats://b:4222", False),
        ("nats://token@a:4222", True),
        ("nats://a:4222,nats://u:p@b:4222", True),
        ("tls://u:p@a:4222", True),
    ],
)
def test_what_counts_as_a_credential(url: str, secret: bool) -> None:
    assert up.carries_credentials(url) is secret
