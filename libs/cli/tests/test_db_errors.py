"""A database that is down, or that refuses the database name or the user, is one line and exit 1 for every
command that reads it: never a traceback, never the URL's password."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from onepool_cli import pg
from onepool_cli.main import app
from typer.testing import CliRunner

DOWN = "postgresql://onepool:hunter2@127.0.0.1:1/onepool"


def _env(**extra: str) -> dict[str, str | None]:
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ONEPOOL_")}
    return {**cleared, **extra}


def _refused(args: list[str], url: str, **env: str) -> str:
    pg.console.width = 400  # the reason on one line
    result = CliRunner().invoke(app, args, env=_env(**env))
    # An unhandled exception would also end in exit 1 under CliRunner: only typer.Exit (SystemExit) is handled.
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, (result.exception, result.output)
    assert f"PostgreSQL at {pg.safe_url(url)} refused or failed: " in result.output, result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("action", ["upgrade", "current", "history"])
def test_migrate_says_the_database_is_down(action: str) -> None:
    out = _refused(["migrate", action], DOWN, ONEPOOL_DATABASE_URL=DOWN)
    assert "Connect call failed" in out or "refused" in out.lower()


def test_outbox_status_says_the_database_is_down() -> None:
    _refused(["outbox", "status", "--database-url", DOWN], DOWN)


def test_outbox_status_names_a_database_or_user_that_postgres_refuses(postgres) -> None:  # type: ignore[no-untyped-def]
    admin = postgres.admin_url
    no_db = admin.rsplit("/", 1)[0] + "/no_such_database"
    assert "InvalidCatalogNameError" in _refused(["outbox", "status", "--database-url", no_db], no_db)
    no_user = re.sub(r"//[^@/]*@", "//no_such_user:hunter2@", admin) if "@" in admin else admin
    out = _refused(["outbox", "status", "--database-url", no_user], no_user)
    assert "no_such_user" in out


def test_channels_rebuild_says_the_database_is_down() -> None:
    _refused(["channels", "rebuild"], DOWN, ONEPOOL_DATABASE_URL=DOWN, ONEPOOL_INVENTORY_ADDR="127.0.0.1:1")


def test_up_says_an_external_database_is_down(tmp_path: Path) -> None:
    _refused(
        ["up"],
        DOWN,
        ONEPOOL_DATABASE_URL=DOWN,
        ONEPOOL_NATS_URL="nats://127.0.0.1:1",
        ONEPOOL_DATA_DIR=str(tmp_path),
    )


def _unusable(args: list[str], url: str) -> str:
    pg.console.width = 400
    result = CliRunner().invoke(app, args, env=_env(ONEPOOL_DATABASE_URL=url))
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, (result.exception, result.output)
    assert "ONEPOOL_DATABASE_URL is not usable: " in result.output, result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 2, result.output  # migrate's progress bar, then the line
    return result.output


NOT_POSTGRES = ["foo", "mysql://onepool:hunter2@db/onepool", "postgresql://onepool:hunter2@127.0.0.1:1/x?sslmode=on"]


@pytest.mark.parametrize("url", NOT_POSTGRES)
@pytest.mark.parametrize("args", [["outbox", "status"], ["migrate", "upgrade"], ["migrate", "current"]])
def test_a_url_no_connection_can_use_is_one_line(args: list[str], url: str) -> None:
    _unusable(args, url)


@pytest.mark.parametrize("url", NOT_POSTGRES[:2])
def test_serve_says_the_url_is_not_usable(url: str) -> None:
    """The container entry point: one line and exit 1 before it binds anything, not a traceback."""
    _unusable(["serve", "orders"], url)


# `openssl rand -base64` passwords hold '/': asyncpg read "hunter2" as the port (a 478-line ValueError traceback
# from migrate; serve kept running, every loop logging it).
SLASHED = "postgresql://onepool:hunter2/x@127.0.0.1:1/onepool"


@pytest.mark.parametrize(
    "args", [["migrate", "upgrade"], ["migrate", "current"], ["outbox", "status"], ["serve", "orders"]]
)
def test_a_password_with_a_slash_is_one_line_naming_the_fix(args: list[str]) -> None:
    out = _unusable(args, SLASHED)
    assert "percent-encode" in out and "PGPASSWORD" in out, out


def test_a_percent_encoded_password_with_a_slash_is_read(postgres) -> None:  # type: ignore[no-untyped-def]
    url = re.sub(r"//[^@/]*@|//", "//postgres:hunter2%2Fx@", postgres.admin_url, count=1)
    result = CliRunner().invoke(app, ["migrate", "current"], env=_env(ONEPOOL_DATABASE_URL=url))
    assert result.exit_code == 0, (result.exception, result.output)


def test_up_says_the_url_is_not_usable(tmp_path: Path) -> None:
    pg.console.width = 400
    env = _env(
        ONEPOOL_DATABASE_URL="mysql://onepool:hunter2@db/onepool",
        ONEPOOL_NATS_URL="nats://127.0.0.1:1",
        ONEPOOL_DATA_DIR=str(tmp_path),
    )
    result = CliRunner().invoke(app, ["up"], env=env)
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, (result.exception, result.output)
    assert "ONEPOOL_DATABASE_URL is not usable: mysql:// is not PostgreSQL" in result.output, result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_outbox_status_reads_a_url_with_libpq_options(postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.admin_url + ("&" if "?" in postgres.admin_url else "?") + "sslmode=disable"
    result = CliRunner().invoke(app, ["outbox", "status", "--json", "--database-url", url], env=_env())
    assert result.exit_code == 0, (result.exception, result.output)
    assert '"service": "orders"' in result.output
