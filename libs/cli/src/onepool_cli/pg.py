"""One line and exit 1 when PostgreSQL is unreachable or refuses, instead of a driver traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import typer
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

console = Console(stderr=True)


def safe_url(url: str) -> str:
    """`url` without its password (operators paste what we print into tickets)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<an unparseable URL>"


def _reason(exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    # SQLAlchemy's adapter wraps asyncpg's error: the one under it names what PostgreSQL said.
    cause = cause.__cause__ or cause if type(cause).__module__.startswith("sqlalchemy") else cause
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__


@contextmanager
def reported(url: str) -> Iterator[None]:
    """Run a command's database work; a connection or server failure becomes one line and exit 1."""
    try:
        yield
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, DBAPIError) as exc:
        console.print(f"[red]PostgreSQL at {safe_url(url)} refused or failed: {_reason(exc)}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc
