"""`onepool migrate [upgrade|current|history] [--service S] [--to REVISION]`: each service's alembic history in
its own schema of ONEPOOL_DATABASE_URL.

- `upgrade` (the default, what compose and the Kubernetes Job run): every chosen service to head.
- `--to REVISION`: one service (`--service`) to that revision (an id, a unique prefix, `head`, or `base`),
  upgrading or downgrading as it lies after or before the current one; `--to head` may name several.
- `current`: where each schema is, its head, and whether it is behind.
- `history`: each service's revisions, newest first, marking the current one and the head.

Failure modes: an unknown service or revision, or `--to` another revision than head for several services
-> exit 2 with the reason, nothing changed; the database unreachable or refusing (a statement of a migration
included) -> one line with PostgreSQL's reason, exit 1 (each service migrates in its own transaction under an
advisory lock, so the ones before it stay migrated and the failing one is left as it was; only an index built
CONCURRENTLY commits on its own, and running again keeps it if it is valid and builds it again if not).
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

import typer
from alembic.util import CommandError
from onepool_runtime.migrations import current, downgrade_sync, history, is_ancestor, resolve, upgrade_sync
from rich.console import Console
from rich.progress import track
from rich.table import Table

from onepool_cli.services import ServiceInfo
from onepool_cli.tables import print_table

console = Console()


class Action(StrEnum):
    upgrade = "upgrade"
    current = "current"
    history = "history"


def run(action: Action, services: list[ServiceInfo], url: str, to: str) -> None:
    if action is Action.current:
        show_current(services, url)
    elif action is Action.history:
        show_history(services, url)
    elif to and to != "head":
        if len(services) != 1:
            raise typer.BadParameter(
                "a revision belongs to one service's history: name it with --service", param_hint="--to"
            )
        migrate_to(services[0], url, to)
    else:
        for svc in track(services, description="migrating", console=console):
            upgrade_sync(svc.migrations, url, svc.name)
        console.print(f"migrated: {', '.join(s.name for s in services)}")


def _current(url: str, services: list[ServiceInfo]) -> dict[str, str | None]:
    async def read() -> list[str | None]:
        return [await current(url, svc.name) for svc in services]

    return dict(zip((s.name for s in services), asyncio.run(read()), strict=True))


def show_current(services: list[ServiceInfo], url: str) -> None:
    table = Table(title="migrations")
    for column in ("service", "current", "head", "state"):
        table.add_column(column)
    for svc, (_, at) in zip(services, _current(url, services).items(), strict=True):
        head = resolve(svc.migrations, "head")
        state = "not migrated" if at is None else ("up to date" if at == head else "behind")
        table.add_row(svc.name, at or "-", head or "-", state)
    print_table(console, table)


def show_history(services: list[ServiceInfo], url: str) -> None:
    at = _current(url, services)
    for svc in services:
        table = Table(title=f"{svc.name} (newest first)")
        for column in ("revision", "down from", "description", ""):
            table.add_column(column)
        for script in history(svc.migrations):
            marks = [m for m, on in (("current", script.revision == at[svc.name]), ("head", script.is_head)) if on]
            down = script.down_revision
            down = down if isinstance(down, str) else ", ".join(down or ())
            table.add_row(script.revision, down or "base", script.doc or "", " ".join(marks))
        print_table(console, table)


def migrate_to(svc: ServiceInfo, url: str, revision: str) -> None:
    try:
        target = resolve(svc.migrations, revision)
    except CommandError as exc:
        raise typer.BadParameter(f"{svc.name}: {exc}", param_hint="--to") from exc
    at = _current(url, [svc])[svc.name]
    if at is not None and (target is None or is_ancestor(svc.migrations, target, at)):
        downgrade_sync(svc.migrations, url, svc.name, target or "base")
        verb = "downgraded"
    else:
        upgrade_sync(svc.migrations, url, svc.name, target or "base")
        verb = "upgraded"
    console.print(f"{svc.name}: {verb} from {at or 'base'} to {target or 'base'}")
