"""The `onepool` command."""

from __future__ import annotations

from typing import Annotated

import typer
from onepool_runtime.auth import ROLES, mint_token, signing_key
from onepool_runtime.settings import ServiceSettings
from pydantic_settings import BaseSettings
from rich.console import Console

from onepool_cli import channels, config, consumers, dlq, events, orders, outbox, pg, restore
from onepool_cli import migrate as migrations
from onepool_cli.services import BY_NAME, SERVICES

app = typer.Typer(
    help="OnePool: run it, migrate it, mint development tokens, watch events, outboxes and dead letters.",
    no_args_is_help=True,
)
app.add_typer(dlq.app, name="dlq")
app.add_typer(events.app, name="events")
app.add_typer(outbox.app, name="outbox")
app.add_typer(channels.app, name="channels")
app.add_typer(consumers.app, name="consumers")
app.add_typer(restore.app, name="restore")
app.add_typer(orders.app, name="orders")
console = Console()


def _signing_key_or_exit() -> None:
    """A key file that cannot be read is named, with why, instead of a traceback from deep inside minting."""
    settings = config.load(ServiceSettings)
    try:
        signing_key(settings)
    except OSError as exc:
        path = settings.jwt_private_key_file
        console.print(f"[red]ONEPOOL_JWT_PRIVATE_KEY_FILE {path} cannot be read: {exc.strerror or exc}[/red]")
        raise typer.Exit(1) from exc


@app.command("up")
def up_command() -> None:
    """Start PostgreSQL, NATS and all five services locally (what `make run` calls)."""
    from onepool_gateway.settings import GatewaySettings

    from onepool_cli.up import UpSettings, up

    _signing_key_or_exit()
    # Every child's settings before anything starts: a value one of them refuses is one line here, not a child
    # that exits while `up` waits, its traceback quoted from its log.
    children: list[type[BaseSettings]] = [UpSettings, GatewaySettings, *(svc.settings_type() for svc in SERVICES)]
    for settings_class in children:
        config.load(settings_class)
    raise typer.Exit(up())


_CALL_TIMEOUT_HELP = (
    "Seconds one call may go unanswered before the command gives up naming it "
    "(default: ONEPOOL_DEMO_CALL_TIMEOUT_SECONDS, else 30)."
)


@app.command("seed")
def seed_command(
    run: Annotated[str, typer.Option(help="Run id suffixed to every name (default: a fresh one).")] = "",
    call_timeout: Annotated[float | None, typer.Option(min=0.001, help=_CALL_TIMEOUT_HELP)] = None,
) -> None:
    """Load the sample brand into a running `make run`: two warehouses, two shops, a GOLD dealer with a
    shop, an online store, a marketplace (share limit, sales cap), a shop POS, listings and prices."""
    from onepool_cli.demo.command import main

    _signing_key_or_exit()
    raise typer.Exit(main(story=False, run=run, call_timeout=call_timeout))


@app.command("demo")
def demo_command(
    run: Annotated[str, typer.Option(help="Run id suffixed to every name (default: a fresh one).")] = "",
    call_timeout: Annotated[float | None, typer.Option(min=0.001, help=_CALL_TIMEOUT_HELP)] = None,
) -> None:
    """Seed the sample brand, run the brief's ten flows against a running `make run` and tell the story:
    orders, stock per location before and after, each channel's sellable numbers, every party's statement."""
    from onepool_cli.demo.command import main

    _signing_key_or_exit()
    raise typer.Exit(main(story=True, run=run, call_timeout=call_timeout))


@app.command()
def migrate(
    action: Annotated[
        migrations.Action, typer.Argument(help="upgrade (default): to head; current: where each is; history")
    ] = migrations.Action.upgrade,
    service: Annotated[list[str] | None, typer.Option("--service", "-s", help="Only these services.")] = None,
    to: Annotated[str, typer.Option("--to", help="Upgrade or downgrade one --service to this revision.")] = "",
) -> None:
    """Migrations of ONEPOOL_DATABASE_URL (compose and Kubernetes run `migrate` before the services)."""
    unknown = [s for s in service or [] if s not in BY_NAME]
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}", param_hint="--service")
    chosen = [BY_NAME[s] for s in service] if service else SERVICES
    url = config.load(ServiceSettings).database_url
    with pg.reported(url):
        migrations.run(action, chosen, url, to)


@app.command()
def serve(name: Annotated[str, typer.Argument(help="orders|inventory|channels|dealers|settlement")]) -> None:
    """Run one service in the foreground (the container entry point)."""
    import importlib

    from onepool_runtime.db import UnusableURL
    from onepool_runtime.server import CannotListen

    svc = BY_NAME.get(name)
    if svc is None:
        raise typer.BadParameter(f"unknown service {name!r}")
    config.load(svc.settings_type())  # the service reads them again: a refusal is one line here, not its traceback
    try:
        importlib.import_module(f"{svc.package}.entrypoints.main").main()
    except UnusableURL as exc:  # raised before the service binds anything; its text never holds the URL
        config.refuse(f"ONEPOOL_DATABASE_URL is not usable: {exc}")
    except CannotListen as exc:  # its port (or its metrics port) is taken: nothing was started
        config.refuse(str(exc))


@app.command()
def gateway() -> None:
    """Serve every RPC over HTTP for browsers (Connect protocol and gRPC-Web) and the dealer portal at /portal/,
    on ONEPOOL_GATEWAY_HOST:ONEPOOL_GATEWAY_PORT (default 127.0.0.1:8080), forwarding to the services'
    ONEPOOL_<NAME>_ADDR. Browser origins allowed from other sites: ONEPOOL_GATEWAY_CORS_ORIGINS; request headers
    their pages may send besides the protocol's own: ONEPOOL_GATEWAY_CORS_HEADERS."""
    from onepool_gateway.main import main as serve_gateway

    serve_gateway()


@app.command()
def token(
    role: Annotated[str, typer.Option(help="admin|service|channel|dealer|store")] = "admin",
    channel: Annotated[str, typer.Option(help="Channel id (role channel).")] = "",
    dealer: Annotated[str, typer.Option(help="Dealer id (role dealer).")] = "",
    location: Annotated[str, typer.Option(help="Location id (role store).")] = "",
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Mint a development JWT signed with ONEPOOL_JWT_SECRET (or ONEPOOL_JWT_PRIVATE_KEY_FILE, naming
    ONEPOOL_JWT_KEY_ID as its kid for services that verify by JWKS), with the issuer and audience the
    services expect (ONEPOOL_JWT_ISSUER, ONEPOOL_JWT_AUDIENCE; both default to "onepool")."""
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    if ttl <= 0:
        raise typer.BadParameter("must be positive: a token of ttl <= 0 is expired when issued", param_hint="--ttl")
    _signing_key_or_exit()
    try:
        typer.echo(
            mint_token(
                config.load(ServiceSettings),
                role,
                channel_id=channel,
                dealer_id=dealer,
                location_id=location,
                ttl_seconds=ttl,
            )
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


if __name__ == "__main__":
    app()
