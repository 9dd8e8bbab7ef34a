"""The grpc.aio server bootstrap every service uses.

Start-up: bind the port and answer health first (`listen`): `liveness` SERVING, readiness NOT_SERVING, and
every other call UNAVAILABLE with retry advice. Then (`bring_up`) wait for NATS, ensure the service's stream,
build the service and open its handlers, start the outbox relay (on its own thread, with its own connections:
relay_thread.py), consumers (and the purge of their inbox) and background tasks under supervision. So a
service started while NATS is down listens, its liveness probe passes and its startup probe does not restart
it (nats-py retries an unreachable server forever inside its connect: a host that connected before binding
never bound, and Kubernetes restarted it into CrashLoopBackOff); it logs "waiting for NATS at <url>" once,
then once a minute, and comes up when NATS does. A database down at start is the same: the service listens,
NOT_SERVING until it answers. Health reports SERVING for "" and the service's names only while the database
answers, the service's schema is migrated to its code's head (or to a newer release's revision: an old pod of a
rolling upgrade keeps serving), and NATS is connected (readiness). Kubernetes starts a release's pods with its
migrate Job: a pod that came first is NOT_SERVING, and turns SERVING without a restart once the Job has run
(the version table is read every `SCHEMA_CHECK_SECONDS`; migrations.SchemaCheck). Meanwhile a call or event that
meets a missing table or column is the infrastructure's failure (UNAVAILABLE; retried, never dead-lettered:
infra.py). The database is asked on a connection of
readiness's own (`db.DatabaseProbe`), never the request pool's: calls holding every pooled connection are
a busy service, not a database that is down, and readiness that said so took busy pods out of rotation and
pushed their load onto the others. An answer must come within `db_ping_timeout_seconds`, and readiness turns
NOT_SERVING after `readiness_failure_threshold` failed checks in a row (re-checked 0.25 s apart), SERVING again
on the first good one: one slow ping is a blip, not an outage. So a database that stops answering without
closing its sockets (a fail-over, a partition) turns readiness NOT_SERVING within `health_check_seconds` +
threshold x (ping timeout + 0.25 s) (~12 s), not when the kernel gives the socket up (~15 min). The health service
`liveness` reports SERVING from the moment the server listens until it stops, whatever the dependencies do,
so a liveness probe restarts a process that stopped answering, never every pod of a database outage.
SIGTERM/SIGINT: NOT_SERVING, stop accepting calls with a grace period, cancel background work, drain NATS,
dispose the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import grpc
import nats
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from onepool_runtime import db, errors, faults, idempotency, inbox, messaging, readpool, reflection
from onepool_runtime.admission import Admission
from onepool_runtime.auth import Authorizer, Policy
from onepool_runtime.consumer import DLQ_STREAM, DLQ_SUBJECTS, EventConsumer, Subscription
from onepool_runtime.grpc_errors import refusal
from onepool_runtime.migrations import SchemaCheck, scripts_of
from onepool_runtime.pipeline import CallPipeline, Metered, Registrar
from onepool_runtime.relay_thread import RelayThread
from onepool_runtime.retention import DAY, PeriodicPurge
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.telemetry import configure_telemetry, redact
from onepool_runtime.uow import UnitOfWork

S = TypeVar("S", bound=ServiceSettings)
U = TypeVar("U", bound=UnitOfWork)

log = logging.getLogger(__name__)

# The grpc.health.v1 service name a liveness probe asks: the process answers, nothing more.
LIVENESS_SERVICE = "liveness"


@dataclass
class Infra:
    """Connections a service is built from."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    nc: Client
    js: JetStreamContext

    def settings_as(self, kind: type[S]) -> S:
        """The settings as the service's own class (`build` reads its options from them); TypeError if the
        host was given another service's."""
        if not isinstance(self.settings, kind):
            raise TypeError(f"expected {kind.__name__}, got {type(self.settings).__name__}")
        return self.settings

    def units(self, unit_of_work: Callable[[async_sessionmaker[AsyncSession]], U]) -> Callable[[], U]:
        """A factory of the service's units of work on its own sessions (for servicers and background loops)."""
        return partial(unit_of_work, self.sessions)

    def consumer(
        self,
        unit_of_work: Callable[[async_sessionmaker[AsyncSession]], UnitOfWork],
        name: str,
        stream: str,
        subscriptions: list[Subscription[Any, Any]],
        sessions: async_sessionmaker[AsyncSession] | None = None,
        **options: Any,
    ) -> EventConsumer:
        """The service's durable consumer `name` of `stream` (nothing is connected here; the host runs it).

        It takes what every consumer takes from the settings (the service's name, consumer_max_deliver,
        consumer_ack_wait_seconds, consumer_batch_size and consumer_linger_seconds); `options` override them or
        add the rest of EventConsumer's (backoff, apply_batches, ...). Its stream and the DLQ stream are
        ensured again, as at start, should the consumer find them gone.
        `sessions` replaces the service's own (a test injecting a crash between commit and ack does).
        """
        settings = self.settings
        streams = messaging.StreamOptions.of(settings)
        return EventConsumer(
            self.js,
            partial(unit_of_work, sessions or self.sessions),
            service=settings.service_name,
            name=name,
            stream=stream,
            subscriptions=subscriptions,
            **{
                "max_deliver": settings.consumer_max_deliver,
                "ack_wait": settings.consumer_ack_wait_seconds,
                "batch": settings.consumer_batch_size,
                "linger": settings.consumer_linger_seconds,
                "ensure_stream": partial(_ensure_consumed_streams, self.js, stream, streams),
                **options,
            },
        )


async def _ensure_consumed_streams(js: JetStreamContext, stream: str, options: messaging.StreamOptions) -> None:
    await messaging.ensure_named_stream(js, stream, options)
    await messaging.ensure_stream(js, DLQ_STREAM, DLQ_SUBJECTS, options)


@dataclass
class ServiceParts:
    """What a service contributes to the host."""

    register: Callable[[grpc.aio.Server], None]
    service_names: list[str]
    policy: Policy
    consumers: list[EventConsumer] = field(default_factory=list)
    tasks: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    # Run after health turns NOT_SERVING and before the server stops (end long-lived streams).
    before_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Full method names whose calls only wait for a batching worker: admitted, but hold no slot (pipeline.py).
    coalesced: frozenset[str] = frozenset()
    # Named internals a test or an operator tool may inspect (e.g. the reserve coalescer's statistics).
    components: dict[str, object] = field(default_factory=dict)


Builder = Callable[[Infra], Awaitable[ServiceParts]]


async def connect_nats_with_retry(
    url: str, name: str, *, attempts: int = 60, reconnect_wait: float = 0.5, ping_interval: float = 10.0
) -> Client:
    for attempt in range(1, attempts + 1):
        try:
            return await messaging.connect(url, name, reconnect_wait=reconnect_wait, ping_interval=ping_interval)
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("NATS at %s not reachable yet (%s); retrying", url, exc)
            await asyncio.sleep(min(0.25 * attempt, 2.0))
    raise AssertionError("unreachable")


async def wait_for_nats(url: str, name: str, *, log_every: float = 60.0) -> None:
    """Until one of the servers in `url` accepts a connection. Each round is one short-lived client that gives
    up after two attempts per server (nats-py's connect otherwise retries forever, logging an error at each):
    "waiting for NATS" is logged once, then every `log_every` seconds."""
    started = time.monotonic()
    logged_at: float | None = None
    delay = 0.25
    last: list[Exception] = []

    async def _remember(exc: Exception) -> None:
        last[:] = [exc]

    while True:
        try:
            nc = await nats.connect(
                servers=messaging.server_urls(url),
                name=name,
                allow_reconnect=False,
                max_reconnect_attempts=1,  # nats-py: at most two attempts per server, then NoServersError
                reconnect_time_wait=0.1,
                connect_timeout=5,
                error_cb=_remember,
            )
        except Exception as exc:
            reason = redact(repr(last[0] if last else exc))
        else:
            with contextlib.suppress(Exception):
                await nc.close()
            if logged_at is not None:
                log.info("NATS at %s reachable after %.0fs", redact(url), time.monotonic() - started)
            return
        now = time.monotonic()
        if logged_at is None:
            log.warning("waiting for NATS at %s (%s)", redact(url), reason)
            logged_at = now
        elif now - logged_at >= log_every:
            log.warning("still waiting for NATS at %s after %.0fs (%s)", redact(url), now - started, reason)
            logged_at = now
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


class _LateHandlers(grpc.GenericRpcHandler):
    """The service's handlers, which exist only once NATS is up and the service is built (after the server
    listens, when grpc takes no more registrations): until `open`, every call that health does not answer is
    answered UNAVAILABLE with retry advice, never INTERNAL or UNIMPLEMENTED."""

    def __init__(self) -> None:
        self._registered: dict[str, grpc.RpcMethodHandler] = {}
        self._generic: list[grpc.GenericRpcHandler] = []
        self._open = False
        self._starting = grpc.stream_stream_rpc_method_handler(self._refuse)  # reads nothing of the request

    # What a service's register (through pipeline.Registrar) and reflection call on a server.
    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self._registered.update({f"/{service}/{name}": handler for name, handler in handlers.items()})

    def open(self) -> None:
        self._open = True

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        if not self._open:
            return self._starting
        # The generated code adds each service both ways: the registered (wrapped once) answer first.
        found = self._registered.get(handler_call_details.method)
        if found is not None:
            return found
        for handler in self._generic:
            found = handler.service(handler_call_details)
            if found is not None:
                return found
        return None

    @staticmethod
    async def _refuse(_requests: Any, context: Any) -> None:
        refused = errors.Unavailable("the service is starting; retry with the same request id")
        _, status = refusal("starting", refused)
        await context.abort_with_status(status)


async def _retrying(what: str, step: Callable[[], Awaitable[None]], *, attempts: int = 60) -> None:
    """A JetStream cluster still forming (no meta leader, peers not all known: "no suitable peers for
    placement") refuses streams for a few seconds: try again rather than fail the start."""
    for attempt in range(1, attempts + 1):
        try:
            await step()
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            log.warning("JetStream %s not ready yet (%s); retrying", what, exc)
            await asyncio.sleep(min(0.25 * attempt, 2.0))


def server_credentials(settings: ServiceSettings) -> grpc.ServerCredentials | None:
    if not (settings.tls_cert_file and settings.tls_key_file):
        return None
    client_ca = Path(settings.tls_client_ca_file).read_bytes() if settings.tls_client_ca_file else None
    return grpc.ssl_server_credentials(
        [(Path(settings.tls_key_file).read_bytes(), Path(settings.tls_cert_file).read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


# How often readiness reads the version table (SchemaCheck); a test shortens it.
SCHEMA_CHECK_SECONDS = 5.0


class CannotListen(RuntimeError):
    """A port the service must listen on is taken (or the address is not this machine's): raised before
    anything is started, naming the port and the setting to change, instead of gRPC's bind traceback."""


def check_can_listen(host: str, port: int, setting: str) -> None:
    """CannotListen when another process listens on host:port now. Bound the way gRPC and the metrics server
    bind (SO_REUSEADDR: a port a stopped process left in TIME_WAIT is free), then let go at once."""
    if not port:
        return
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return  # a host that does not resolve: the bind itself will say so
    for family, kind, proto, _name, address in addresses:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
        except OSError as exc:  # any other reason (no IPv6 here, say) is the bind's to report
            if exc.errno == errno.EADDRINUSE:
                raise CannotListen(
                    f"{host}:{port} is in use by another process: stop it, or set {setting} to a free port"
                ) from None


class ServiceHost:
    def __init__(self, settings: ServiceSettings, build: Builder, *, migrations: Path | None = None) -> None:
        """`migrations`: the service's alembic scripts, whose head readiness waits for (module doc); None for a
        host whose schema has none (a test's)."""
        self.settings = settings
        self._build = build
        self._migrations = migrations
        self._schema: SchemaCheck | None = None
        self.port = 0
        self.health = HealthServicer()
        self.infra: Infra | None = None
        self.parts: ServiceParts | None = None
        self.relay: RelayThread | None = None
        self.inbox_purge: PeriodicPurge | None = None
        self.idempotency_purge: PeriodicPurge | None = None
        self._server: grpc.aio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._serving: bool | None = None
        # Failed readiness checks in a row (0 after a good one); NOT_SERVING from readiness_failure_threshold on.
        self.health_failures = 0
        self._probe: db.DatabaseProbe | None = None
        self._engine: AsyncEngine | None = None
        self._late = _LateHandlers()
        self.admission = Admission(settings)

    async def start(self) -> None:
        """`listen`, then `bring_up`: returns once the service is up (a test's or a tool's host)."""
        await self.listen()
        await self.bring_up()

    async def listen(self) -> None:
        """Bind the port and answer health (module doc); nothing here waits for NATS or the database."""
        s = self.settings
        # Both ports before anything starts: a taken one is one line naming its setting (cli `serve`).
        check_can_listen(s.grpc_host, s.grpc_port, "ONEPOOL_GRPC_PORT")
        check_can_listen(s.metrics_host, s.metrics_port, "ONEPOOL_METRICS_PORT")
        configure_telemetry(s)
        self._engine = engine = db.create_engine(
            s.database_url,
            s.schema_name,
            pool_size=s.db_pool_size,
            max_overflow=s.db_max_overflow,
            pool_timeout=s.db_pool_timeout_seconds,
            **db.bounds(s),
        )
        self._probe = db.DatabaseProbe(engine, s.db_ping_timeout_seconds)
        if self._migrations is not None:
            self._schema = SchemaCheck(self._migrations, s.schema_name, SCHEMA_CHECK_SECONDS)
        # No interceptors: the service's own handlers are wrapped once, at registration, in the call pipeline
        # (admission first, then trace context, auth, decoding, errors and metrics; pipeline.py). Health is
        # only counted (below) and reflection stays unwrapped.
        server = grpc.aio.server(
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 8 * 1024 * 1024)],
            # An outer bound only, far above admission's budgets: grpc's own refusal carries no retry advice
            # and counts health checks too, so admission must be the one that normally says no.
            maximum_concurrent_rpcs=4
            * (s.max_concurrent_rpcs + s.max_queued_rpcs + s.max_concurrent_streams + s.max_batched_rpcs),
        )
        # Health checks are only counted (pipeline.Metered): no admission, auth or decoding.
        health_pb2_grpc.add_HealthServicer_to_server(self.health, Registrar(server, Metered()))  # type: ignore[arg-type]
        server.add_generic_rpc_handlers([self._late])
        creds = server_credentials(s)
        address = s.grpc_address
        try:
            self.port = (
                server.add_secure_port(address, creds) if creds is not None else server.add_insecure_port(address)
            )
        except RuntimeError as exc:  # taken since the check, or an address not on this machine
            raise CannotListen(f"cannot listen on {address}: set ONEPOOL_GRPC_HOST and ONEPOOL_GRPC_PORT") from exc
        if not self.port:
            raise CannotListen(f"cannot listen on {address}: set ONEPOOL_GRPC_HOST and ONEPOOL_GRPC_PORT")
        await self._set_health(False)
        await server.start()
        await self.health.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        self._server = server
        log.info("%s listening on %s:%d", s.service_name, s.grpc_host, self.port)

    async def bring_up(self) -> None:
        """After `listen`: wait for NATS, build the service, open its handlers, start its background work."""
        s = self.settings
        engine = self._engine
        assert engine is not None, "listen() first"
        name = f"onepool-{s.service_name}"
        await wait_for_nats(s.nats_url, name)
        nc = await connect_nats_with_retry(
            s.nats_url, name, reconnect_wait=s.nats_reconnect_wait_seconds, ping_interval=s.nats_ping_interval_seconds
        )
        js = nc.jetstream()
        self.infra = Infra(s, engine, db.session_factory(engine), nc, js)
        streams = messaging.StreamOptions.of(s)
        await _retrying("stream", partial(messaging.ensure_service_stream, js, s.service_name, streams))
        self.parts = parts = await self._build(self.infra)
        for stream in sorted({c.stream for c in parts.consumers}):
            await _retrying("stream", partial(messaging.ensure_named_stream, js, stream, streams))

        late: Any = self._late  # what register and reflection take for the server (_LateHandlers)
        registrar: Any = Registrar(late, CallPipeline(self.admission, Authorizer(s, parts.policy), parts.coalesced))
        parts.register(registrar)
        # Reflection v1 and v1alpha, with the protos' comments (reflection.py).
        reflection.enable(late, [*parts.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name])
        self._late.open()
        for name in parts.service_names:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

        # Two threads now want the interpreter lock: hand it over sooner than Python's 5 ms (settings).
        sys.setswitchinterval(s.switch_interval_ms / 1000)
        # None unless a fault test asks for a crash after publishing.
        self.relay = RelayThread(s, engine, after_publish=faults.relay_hook(s))
        self.relay.start()
        for consumer in parts.consumers:
            self._spawn(f"consumer:{consumer.durable}", consumer.run)
        if parts.consumers:
            self.inbox_purge = PeriodicPurge(
                "inbox",
                partial(inbox.purge, engine, s.inbox_retention_days * DAY),
                interval_seconds=s.inbox_purge_interval_seconds,
            )
            self._spawn("inbox-purge", self.inbox_purge.run)
        self.idempotency_purge = PeriodicPurge(
            "idempotency_keys",
            partial(idempotency.purge, engine, s.idempotency_retention_days * DAY),
            interval_seconds=s.idempotency_purge_interval_seconds,
        )
        self._spawn("idempotency-purge", self.idempotency_purge.run)
        for task_name, task in parts.tasks.items():
            self._spawn(task_name, task)
        # The first health verdict is given before bring_up() returns, so a caller never sees a stale answer.
        await self._set_health(await self._ready())
        self._spawn("health", self._watch_health)
        log.info("%s serving on %s:%d", s.service_name, s.grpc_host, self.port)

    def _spawn(self, name: str, fn: Callable[[], Awaitable[None]]) -> None:
        async def supervised() -> None:
            while True:
                try:
                    await fn()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background task %s crashed; restarting in 1s", name)
                    await asyncio.sleep(1.0)

        self._tasks.append(asyncio.create_task(supervised(), name=name))

    async def _set_health(self, serving: bool) -> None:
        if serving == self._serving:
            return
        self._serving = serving
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ["", *(self.parts.service_names if self.parts is not None else [])]:
            await self.health.set(name, status)
        log.info("health: %s", "SERVING" if serving else "NOT_SERVING")

    async def _ready(self) -> bool:
        if self.infra is None or self._probe is None:
            return False
        schema = self._schema.check if self._schema is not None else None
        return self.infra.nc.is_connected and await self._probe.check(schema)

    async def _watch_health(self) -> None:
        while True:
            ok = await self._ready()
            self.health_failures = 0 if ok else self.health_failures + 1
            if ok or self.health_failures >= self.settings.readiness_failure_threshold:
                await self._set_health(ok)
            elif self._serving:
                log.warning(
                    "readiness check failed (%d in a row; NOT_SERVING from %d)",
                    self.health_failures,
                    self.settings.readiness_failure_threshold,
                )
            await asyncio.sleep(self.settings.health_check_seconds if ok else 0.25)

    async def stop(self) -> None:
        """Stop accepting calls, let in-flight ones finish within the grace period, then stop background
        work. Every wait is bounded: a stuck task or connection cannot hang a shutdown."""
        if self._server is not None:
            await self.health.enter_graceful_shutdown()
            if self.parts is not None:
                for hook in self.parts.before_stop:  # e.g. end server streams, which never finish alone
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(hook(), timeout=5)
            await self._server.stop(self.settings.grpc_grace_seconds)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=10)
            for task in stuck:
                log.error("background task %s did not stop within 10s", task.get_name())
        self._tasks.clear()
        if self.relay is not None:
            await self.relay.stop()
        if self.parts is not None:
            for hook in self.parts.on_stop:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(hook(), timeout=10)
        if self.infra is not None:
            try:
                await asyncio.wait_for(self.infra.nc.drain(), timeout=5)
            except Exception:
                with contextlib.suppress(Exception):
                    await self.infra.nc.close()
        if self._probe is not None:
            await self._probe.close()
        if self._schema is not None:
            self._schema.close()
        if self._engine is not None:
            await readpool.close_read_pool(self._engine)
            await self._engine.dispose()

    async def serve_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.listen()
        # Health answers while this waits for NATS (module doc); a signal meanwhile ends the wait.
        bring_up = asyncio.create_task(self.bring_up(), name="bring-up")
        stopped = asyncio.create_task(stop.wait(), name="stop")
        await asyncio.wait({bring_up, stopped}, return_when=asyncio.FIRST_COMPLETED)
        failed = bring_up.exception() if bring_up.done() and not bring_up.cancelled() else None
        if failed is None:
            await stopped
        log.info("%s shutting down", self.settings.service_name)
        if not bring_up.done():
            bring_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bring_up
        stopped.cancel()
        await self.stop()
        if failed is not None:
            raise failed  # a start that failed (a stream JetStream refuses) ends the process, as before


def run(settings: ServiceSettings, build: Builder) -> None:
    """Entry point body for `python -m onepool_<service>`."""
    from onepool_runtime.telemetry import configure_logging

    configure_logging(settings)
    scripts = scripts_of(build)
    if scripts is None:
        # An install without the service's migrations beside its package (a wheel has only src/): readiness
        # cannot tell a schema behind this code, so say so once rather than serve as if it could.
        log.warning("no migrations found for %s: readiness does not wait for the schema", settings.service_name)
    main = ServiceHost(settings, build, migrations=scripts).serve_forever()
    if settings.uvloop:
        # grpc.aio drives any asyncio loop through its own poller thread and loop.add_reader, and uvloop's
        # loop costs less per call than asyncio's (see docs/architecture.md, Runtime).
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)
