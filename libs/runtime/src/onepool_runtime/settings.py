"""One typed settings object per service (env prefix ONEPOOL_); nothing else reads the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs. Services subclass it to set their name, port and peers."""

    model_config = SettingsConfigDict(env_prefix="ONEPOOL_", extra="ignore")

    service_name: str = "onepool"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/onepool"
    # Each service owns one schema in the shared database (search_path is set per connection).
    db_schema: str = ""
    # 20 kept open, none beyond: an overflow connection is closed as soon as it is handed back while the pool is
    # full, so under steady load above pool_size every call paid a new connection (TLS attempt, a backend
    # forked, statements prepared again). Connections open lazily, so a quiet service still holds few.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # How long a call may wait for a pooled connection before it fails, so a queue cannot hold calls for ages.
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    # One server, or a cluster's servers comma-separated (messaging.py): the client connects to any of them and
    # reconnects to a survivor when its server goes, forever, every nats_reconnect_wait_seconds.
    nats_url: str = "nats://127.0.0.1:4222"
    nats_reconnect_wait_seconds: float = Field(default=0.5, gt=0)
    # Two pings missed in a row drop the connection and start a reconnect (a node gone without a word).
    nats_ping_interval_seconds: float = Field(default=10.0, gt=0)
    # Copies of each stream (the DLQ too): 3 on a three-node JetStream cluster (one node may be lost), 1 on a
    # single server. Placement (optional): the cluster's name and server tags (comma-separated) streams go to.
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
    nats_placement_cluster: str = ""
    nats_placement_tags: str = ""
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0
    grpc_grace_seconds: float = 5.0

    # Admission control (onepool_runtime.admission): unary calls beyond max_concurrent_rpcs running plus
    # max_queued_rpcs waiting are refused at once with RESOURCE_EXHAUSTED and this retry advice. The default
    # matches the database pool (db_pool_size + db_max_overflow), so an admitted call rarely waits for a
    # connection. Server streams (watches) have their own budget. A call with less than the margin left
    # to its deadline is not started. The queue is deep on purpose: a queued call costs a future and waits at
    # most max_queue_wait_seconds, whereas a refused caller that retries at once (what a load generator and
    # many clients do) costs a refusal per retry: with 64 callers and a queue of 20, two calls in three of a
    # busy method were refusals.
    max_concurrent_rpcs: int = Field(default=20, ge=1)
    max_queued_rpcs: int = Field(default=256, ge=0)
    max_queue_wait_seconds: float = Field(default=0.5, ge=0)
    max_concurrent_streams: int = Field(default=500, ge=1)
    # Calls handed to a batching worker (inventory's Reserve) that may wait for or be in a batch at once; beyond
    # it they are refused like any call (RESOURCE_EXHAUSTED, retry advice). Each also passes the unary gate but
    # holds no slot of it while it waits (pipeline.py). Four full batches (reserve_batch_max 256): a hot SKU's
    # next batch still fills while one commits, so batching keeps its throughput, and a stuck batch holds at
    # most this many callers instead of every Reserve that comes meanwhile.
    max_batched_rpcs: int = Field(default=1024, ge=1)
    overload_retry_after_seconds: float = Field(default=0.25, gt=0)
    deadline_margin_seconds: float = Field(default=0.01, ge=0)

    # Where the other services are (service-to-service gRPC): one address, or a target naming every replica
    # (`dns:///orders-headless:50051`, `ipv4:10.0.0.1:50051,10.0.0.2:50051`), balanced per call by this policy.
    grpc_lb_policy: str = "round_robin"
    orders_addr: str = "127.0.0.1:50051"
    inventory_addr: str = "127.0.0.1:50052"
    channels_addr: str = "127.0.0.1:50053"
    dealers_addr: str = "127.0.0.1:50054"
    settlement_addr: str = "127.0.0.1:50055"

    # Authentication: HS256 with a shared secret by default, RS256 when a public key or a JWKS is configured.
    # Every token must carry this issuer and audience (what mint_token and `onepool token` put in).
    jwt_secret: str = "onepool-dev-secret-change-me-32bytes!"
    jwt_audience: str = "onepool"
    jwt_issuer: str = "onepool"
    jwt_public_key_file: str = ""
    jwt_private_key_file: str = ""
    # RS256 keys by `kid` from a JWKS document (a file, re-read when it changes, or an http(s) URL), for key
    # rotation; takes precedence over jwt_public_key_file. jwt_key_id is the kid this service signs with.
    jwt_jwks: str = ""
    jwt_jwks_refresh_seconds: float = Field(default=300.0, gt=0)
    jwt_key_id: str = ""
    auth_enabled: bool = True
    # Slack for a token's exp, nbf and iat: service tokens are minted with iat=now by the calling host, and a
    # clock a second ahead of this one made every call it sent UNAUTHENTICATED.
    auth_leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    # Verified tokens are remembered (an LRU keyed by the raw token) until min(exp, now + this), so a caller
    # reusing its token pays the signature check once. A key retired from the JWKS document empties the
    # cache. 0 turns the cache off.
    auth_token_cache_seconds: float = Field(default=60.0, ge=0)
    auth_token_cache_size: int = Field(default=10_000, ge=0)

    # TLS for servers and clients; mTLS when tls_client_ca_file is set on the server.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_ca_file: str = ""
    tls_client_ca_file: str = ""

    # The relay is woken in-process right after a commit that wrote outbox rows; this poll is only the
    # fallback for rows another process wrote (a replica whose relay died, a tool).
    outbox_poll_seconds: float = 1.0
    outbox_batch_size: int = 200
    outbox_retention_hours: float = 24.0
    # The interpreter's thread switch interval (sys.setswitchinterval) in a service process, whose relay runs
    # on a thread of its own: the longest a thread that wants the interpreter lock waits for a busy one to
    # give it up. Python's 5 ms made each step of a relay pass (and a handler back from a system call while
    # the relay ran) wait up to 5 ms on a busy service (relay_thread.py). 0.5 ms cost orders ~20 % more CPU
    # per order (more forced switches); 1 ms costs no measurable CPU (docs/performance.md).
    switch_interval_ms: float = Field(default=1.0, gt=0, le=100)
    # A pooled connection idle longer than this is pinged before use; a busier one is trusted (a connection
    # the server closed is noticed without a round trip, and a failure on use invalidates the whole pool).
    db_ping_idle_seconds: float = Field(default=10.0, ge=0)
    # Bounds on a database that stops answering without closing the socket (a fail-over, a partition: the
    # kernel would wait ~15 min before giving up). Readiness asks PostgreSQL `SELECT 1` on a connection of its
    # own and counts a check failed when no answer comes within db_ping_timeout_seconds (which also bounds an
    # idle connection's ping before use), so readiness drops within health_check_seconds +
    # readiness_failure_threshold x (this + 0.25 s) (~12 s).
    db_ping_timeout_seconds: float = Field(default=5.0, gt=0)
    # The longest a new connection may take to open (asyncpg's own default is 60 s).
    db_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    # The longest one statement of the service may wait for its answer before the connection is given up as
    # dead (asyncpg's command_timeout, a client-side bound: a statement on a dead socket would never end).
    # Far above what any statement of a service takes (purges go in chunks; migrations run apart, without
    # it); 0 = no bound. The outbox relay has its own, shorter one (its statements are a few ms).
    db_command_timeout_seconds: float = Field(default=30.0, ge=0)
    outbox_command_timeout_seconds: float = Field(default=10.0, ge=0)
    # TCP keepalive on every database socket: an idle connection whose peer vanished is probed after this
    # many seconds and given up after three unanswered probes a third of it apart (~2x this in all); and
    # TCP_USER_TIMEOUT: data sent and not acknowledged for this long closes the socket. 0 = the OS default.
    db_tcp_keepalive_seconds: float = Field(default=10.0, ge=0)
    db_tcp_user_timeout_seconds: float = Field(default=20.0, ge=0)
    consumer_max_deliver: int = 5
    consumer_ack_wait_seconds: float = 30.0
    # A consumer fetches up to this many messages and applies them in one transaction (consumer.py).
    consumer_batch_size: int = Field(default=50, ge=1)
    # After a fetch that found fewer than a batch, wait until this long after it began before the next fetch,
    # so a steady flow is applied in batches rather than a transaction per event (the read models lag by at
    # most this much more).
    consumer_linger_seconds: float = Field(default=0.05, ge=0, le=5)
    # Inbox rows are kept longer than any redelivery can come: a stream's max age (7 days) plus a dead
    # letter's life in the DLQ stream (7 days), after which it can no longer be replayed (inbox.py).
    inbox_retention_days: float = Field(default=15.0, ge=14.0)
    inbox_purge_interval_seconds: float = Field(default=3600.0, gt=0)
    # A mutating RPC's idempotency key (and its stored answer) is kept this long: a retry after it is a new
    # request (idempotency.py).
    idempotency_retention_days: float = Field(default=30.0, ge=1.0)
    idempotency_purge_interval_seconds: float = Field(default=3600.0, gt=0)
    health_check_seconds: float = 2.0
    # Readiness turns NOT_SERVING after this many failed checks in a row (a failed check is re-checked 0.25 s
    # later), and SERVING again on the first good one: one slow ping (an event-loop stall, a database busy for a
    # moment) is not an outage, and a pod taken out of rotation for it pushed its load onto the others. A
    # database that stops answering costs one ping timeout per check: NOT_SERVING within about
    # health_check_seconds + this x (db_ping_timeout_seconds + 0.25 s) (~12 s at the defaults). 1 = flip on one.
    readiness_failure_threshold: int = Field(default=2, ge=1)
    metrics_port: int = Field(default=0, description="Prometheus scrape port; 0 disables the endpoint.")
    # Tracing (see telemetry.py): with no exporter configured nothing is recorded, only propagated. With one,
    # a trace is sampled at this ratio when it starts here, and callers' decisions are followed (parent-based);
    # unset means the standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, else every trace.
    trace_sample_ratio: float | None = Field(default=None, ge=0, le=1)
    # One span per SQL statement (asyncpg instrumentation): costly, for a debugging session.
    trace_db_statements: bool = False
    # uvloop as the services' event loop (cheaper per call than asyncio's own); false to use asyncio's.
    uvloop: bool = True
    log_level: str = "INFO"
    log_json: bool = True

    # TEST ONLY (fault injection for tests/faults, see onepool_runtime.faults); 0 = off. Never set them in
    # production: the process exits abruptly (os._exit) at the moment a crash hurts most.
    fault_relay_exit_after: int = Field(
        default=0, description="TEST ONLY: exit after N events were published and before they are marked."
    )
    fault_consumer_exit_after: int = Field(
        default=0, description="TEST ONLY: exit once a consumer committed N events and before its ack."
    )

    @property
    def schema_name(self) -> str:
        return self.db_schema or self.service_name

    @property
    def grpc_address(self) -> str:
        return f"{self.grpc_host}:{self.grpc_port}"

    @property
    def metrics_host(self) -> str:
        """Where the metrics endpoint listens: on the address the process serves on."""
        return self.grpc_host


class TelemetrySettings(BaseSettings):
    """The standard OpenTelemetry variables (no ONEPOOL_ prefix): OTLP when an endpoint is set, else nothing."""

    model_config = SettingsConfigDict(extra="ignore")

    otel_exporter_otlp_endpoint: str = Field(default="", validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    otel_exporter_otlp_traces_endpoint: str = Field(default="", validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    otel_traces_exporter: str = Field(default="", validation_alias="OTEL_TRACES_EXPORTER")
    otel_metrics_exporter: str = Field(default="", validation_alias="OTEL_METRICS_EXPORTER")
    otel_sdk_disabled: bool = Field(default=False, validation_alias="OTEL_SDK_DISABLED")

    @property
    def traces_to_otlp(self) -> bool:
        if self.otel_sdk_disabled or self.otel_traces_exporter == "none":
            return False
        return self.otel_traces_exporter == "otlp" or bool(
            self.otel_exporter_otlp_endpoint or self.otel_exporter_otlp_traces_endpoint
        )

    @property
    def metrics_to_otlp(self) -> bool:
        if self.otel_sdk_disabled or self.otel_metrics_exporter == "none":
            return False
        return self.otel_metrics_exporter == "otlp" or bool(self.otel_exporter_otlp_endpoint)


def invalid(error: ValidationError, settings_class: type[BaseSettings]) -> str:
    """What a settings class refused, on one line an operator can act on: each environment variable with the
    value it held and what is expected (pydantic's own text names the field, not the variable, over 40 lines)."""
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    said = []
    for problem in error.errors(include_url=False):
        if not problem["loc"]:
            said.append(problem["msg"])
            continue
        value = problem.get("input")
        shown = f"={value!r}" if isinstance(value, str | int | float) and len(repr(value)) <= 80 else ""
        said.append(
            f"{_variable(settings_class, prefix, str(problem['loc'][0]))}{shown} is not valid: {problem['msg']}"
        )
    return "; ".join(said)


def _variable(settings_class: type[BaseSettings], prefix: str, name: str) -> str:
    """The environment variable(s) a field of `settings_class` is read from; `name` is what pydantic's error
    calls it: the field's name, or the first of its aliases."""
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str) and name in (field_name, alias):
            return alias.upper()
        if isinstance(alias, AliasChoices) and name in (field_name, *map(str, alias.choices)):
            spelled = [str(c).upper() for c in alias.choices if str(c).upper().startswith(prefix.upper())]
            return "/".join(spelled) or f"{prefix}{field_name}".upper()
    return f"{prefix}{name}".upper()
