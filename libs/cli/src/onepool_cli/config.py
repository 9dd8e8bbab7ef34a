"""Settings read from the environment: a value a settings class refuses is one line naming the variable, the
value and what is expected, and exit 1 (like every refusal of the configuration: an unusable database URL, an
unreadable key file), never pydantic's traceback."""

from __future__ import annotations

from typing import NoReturn, TypeVar

import typer
from onepool_runtime.settings import invalid
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError
from rich.console import Console
from rich.markup import escape

S = TypeVar("S", bound=BaseSettings)
console = Console(stderr=True)


def load(settings_class: type[S]) -> S:
    """`settings_class` read from the environment."""
    try:
        return settings_class()
    except ValidationError as exc:
        refuse(invalid(exc, settings_class))
    except SettingsError as exc:  # a value that should parse as JSON (a list setting) and does not
        refuse(str(exc))


def refuse(reason: str) -> NoReturn:
    console.print(f"[red]{escape(reason)}[/red]", soft_wrap=True)
    raise typer.Exit(1)
