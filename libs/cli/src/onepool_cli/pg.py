"""One line and exit 1 when PostgreSQL is unreachable or refuses, instead of a driver traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import asyncpg
import typer
from asyncpg.exceptions import ClientConfigurationError
from onepool_runtime import db
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

console = Console(stderr=True)


def safe_url(url: str) -> str:
    """`url` without its password (operators paste what we print into tickets)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<an unparseable URL>"


def _cause(exc: BaseException) -> BaseException:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    # SQLAlchemy's adapter wraps asyncpg's error: the one under it names what PostgreSQL said.
    return cause.__cause__ or cause if type(cause).__module__.startswith("sqlalchemy") else cause


def _reason(exc: BaseException) -> str:
    cause = _cause(exc)
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0]}" if text else type(cause).__name__


@contextmanager
def reported(url: str) -> Iterator[None]:
    """Run a command's database work; a URL no connection can use, or a connection or server failure,
    becomes one line and exit 1."""
    try:
        yield
    except db.UnusableURL as exc:
        _unusable(exc)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, DBAPIError) as exc:
        if isinstance(_cause(exc), ClientConfigurationError):
            _unusable(_cause(exc))
        console.print(f"[red]PostgreSQL at {safe_url(url)} refused or failed: {_reason(exc)}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc


def _unusable(exc: BaseException) -> NoReturn:
    # Neither UnusableURL nor asyncpg's refusal of an option (`sslmode` must be one of ...) holds the URL.
    console.print(f"[red]ONEPOOL_DATABASE_URL is not usable: {escape(str(exc))}[/red]", soft_wrap=True)
    raise typer.Exit(1) from exc
