"""Alembic, one migration history per service, each in its own schema.

Each service's `migrations/env.py` is two lines that call `run_env(metadata)`. `upgrade()` runs alembic
programmatically (in a worker thread, because env.py drives its own event loop) under an advisory lock, so
replicas starting together migrate once. The lock is the session's, not a transaction's: a migration that builds
an index CONCURRENTLY (`create_retention_indexes`) commits part-way, and the lock must outlive that commit.

`SchemaCheck` is readiness's question whether the schema is at the revision the running code was written for
(server.py): a service whose schema is behind its code is NOT_SERVING until the migrate Job has run.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from sqlalchemy import MetaData, pool, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from onepool_runtime import infra
from onepool_runtime.db import asyncpg_url, check_schema_name, connecting_engine

log = logging.getLogger(__name__)


def alembic_config(script_location: Path, database_url: str, schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", asyncpg_url(database_url).replace("%", "%%"))
    cfg.set_main_option("onepool.schema", check_schema_name(schema))
    return cfg


def upgrade_sync(script_location: Path, database_url: str, schema: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(script_location, database_url, schema), revision)


async def upgrade(script_location: Path, database_url: str, schema: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade_sync, script_location, database_url, schema, revision)


def downgrade_sync(script_location: Path, database_url: str, schema: str, revision: str) -> None:
    command.downgrade(alembic_config(script_location, database_url, schema), revision)


def history(script_location: Path) -> list[Script]:
    """The service's revisions, newest first (read from the scripts; no database)."""
    return list(ScriptDirectory(str(script_location)).walk_revisions())


def resolve(script_location: Path, revision: str) -> str | None:
    """The full revision id `revision` names (an id, a unique prefix, head, base), None for base."""
    script = ScriptDirectory(str(script_location)).get_revision(revision)
    return script.revision if script is not None else None


def is_ancestor(script_location: Path, older: str, newer: str) -> bool:
    """True when `older` comes before `newer` in the history (so reaching it from `newer` is a downgrade)."""
    scripts = ScriptDirectory(str(script_location))
    return older != newer and any(s.revision == older for s in scripts.iterate_revisions(newer, "base"))


async def current(database_url: str, schema: str) -> str | None:
    """The revision the schema is at; None when it was never migrated (no schema or no version table)."""
    engine = connecting_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            table = await conn.scalar(
                text("SELECT to_regclass(:t)"), {"t": f'"{check_schema_name(schema)}".alembic_version'}
            )
            if table is None:
                return None
            return await conn.scalar(text(f'SELECT version_num FROM "{schema}".alembic_version'))  # type: ignore[no-any-return]
    finally:
        await engine.dispose()


def scripts_of(build: Callable[..., Any]) -> Path | None:
    """The migrations of the service `build` belongs to (services/<name>/migrations beside its package's src, as
    the image keeps them); None when there are none (a test's or a tool's builder)."""
    target = getattr(build, "func", build)  # a functools.partial names its function's module only through it
    try:
        spec = importlib.util.find_spec(target.__module__.partition(".")[0])
    except (ImportError, ValueError):  # __main__, or a module made up on the fly
        return None
    if spec is None or spec.origin is None:
        return None
    found = Path(spec.origin).resolve().parents[2] / "migrations"
    return found if (found / "env.py").is_file() else None


class SchemaCheck:
    """Is the service's schema at a revision its code runs on? Not when it was never migrated or is at a revision
    of the code's history before its head: Kubernetes starts a release's pods with its migrate Job, and code on
    a schema without its tables and columns fails every call and event that reaches them. A revision the code
    does not know is a newer release's, migrated already: its expand-only migrations keep the old code working,
    so an old pod of a rolling upgrade keeps serving.

    The version table is read at most every `interval` seconds (readiness asks far more often); the verdict is
    also told to `infra.schema_behind`, so that meanwhile a missing table or column is retried, not a bug. Until
    the first answer the schema counts as not at the code's revision."""

    def __init__(self, script_location: Path, schema: str, interval: float = 5.0) -> None:
        scripts = ScriptDirectory(str(script_location))
        self._heads = set(scripts.get_heads())
        # Each known revision with every revision it stands on (itself included): the schema is at the code's
        # revision when each head is among what the rows of its version table stand on (a release may add a
        # branch, whose head no row names yet).
        self._applied = {
            script.revision: {ancestor.revision for ancestor in scripts.iterate_revisions(script.revision, "base")}
            for script in scripts.walk_revisions()
        }
        self._schema = check_schema_name(schema)
        self._interval = interval
        self._checked_at: float | None = None
        self._verdict = False
        self._said: tuple[str, ...] | None = None
        infra.schema_behind(schema, True)

    async def check(self, conn: asyncpg.Connection) -> bool:
        """True when the schema is at the code's head or at a newer release's revision (on `conn`, when due)."""
        now = time.monotonic()
        if self._checked_at is not None and now - self._checked_at < self._interval:
            return self._verdict
        try:
            rows = await conn.fetch(f'SELECT version_num FROM "{self._schema}".alembic_version')
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
            rows = []  # never migrated
        at = tuple(sorted(row[0] for row in rows))
        # A revision the code does not know is a newer release's: not behind (expand-only migrations keep this
        # code working on it, so a missing table there is a bug, as at the head).
        newer = any(v not in self._applied for v in at)
        applied = set().union(*(self._applied.get(v, set()) for v in at))
        behind = not at or (not newer and not self._heads <= applied)
        infra.schema_behind(self._schema, behind)
        self._checked_at, self._verdict = now, not behind
        if at != self._said:
            self._said = at
            heads = ", ".join(sorted(self._heads))
            if behind:
                where = ", ".join(at) or "never migrated"
                log.warning(
                    "schema %s is behind this release (%s, head %s): NOT_SERVING until migrated",
                    self._schema,
                    where,
                    heads,
                )
            elif not newer:
                log.info("schema %s is at this release's head %s", self._schema, heads)
            else:
                log.info("schema %s is at %s, a newer release's revision: serving", self._schema, ", ".join(at))
        return self._verdict

    def close(self) -> None:
        infra.schema_behind(self._schema, False)


def run_env(target_metadata: MetaData | None) -> None:
    """The body of every service's migrations/env.py."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    schema = config.get_main_option("onepool.schema")
    assert url and schema, "run migrations through onepool_runtime.migrations.upgrade"

    def migrate(connection: sa.Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            transaction_per_migration=False,
            include_object=_owned_by_metadata,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = connecting_engine(url, {"server_settings": {"search_path": schema}}, poolclass=pool.NullPool)
        try:
            async with engine.connect() as conn:
                await _lock_session(conn, f"migrate:{schema}")
                # Under the lock: two CREATE SCHEMA IF NOT EXISTS racing on a fresh database, one fails (a unique
                # violation in pg_namespace).
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await conn.commit()
                await conn.run_sync(migrate)
                await conn.commit()
        finally:
            await engine.dispose()

    asyncio.run(main())


async def _lock_session(conn: AsyncConnection, name: str) -> None:
    """Takes the session-level advisory lock `name`, trying every 0.2 s, with no transaction open between the
    tries. A replica blocked in `pg_advisory_lock` would sit in a statement with a snapshot, and the holder's
    CREATE INDEX CONCURRENTLY waits for every older snapshot to end: the two would deadlock. NullPool: closing
    the connection ends the session, and with it the lock, also when a migration failed."""
    while True:
        locked = await conn.scalar(text("SELECT pg_try_advisory_lock(hashtext(:s))"), {"s": name})
        await conn.commit()
        if locked:
            return
        await asyncio.sleep(0.2)


def _owned_by_metadata(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Autogenerate compares only the service's own tables: never proposes dropping alembic_version or the
    runtime's outbox/inbox/idempotency tables, which are not in the service metadata."""
    return not (type_ == "table" and reflected and compare_to is None)


def create_runtime_tables() -> None:
    """Outbox, inbox and idempotency keys (frozen at their first version; later changes get migrations)."""
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String, nullable=True),
    )
    op.create_index("outbox_unpublished", "outbox", ["seq"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("operation", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


# The indexes the retention purges read by (retention.py), added after the runtime tables' first version.
RETENTION_INDEXES = {
    "inbox_processed_at": ("inbox", "processed_at"),
    "idempotency_keys_created_at": ("idempotency_keys", "created_at"),
}


def create_retention_indexes() -> None:
    """Built CONCURRENTLY (`create_index_online`): the two tables may hold millions of rows (nothing purged them
    before these indexes), and a plain CREATE INDEX would hold back every write to them (every mutating RPC
    inserts a key) for the whole build."""
    for name, (table, column) in RETENTION_INDEXES.items():
        create_index_online(name, table, [column])


def create_index_online(name: str, table: str, columns: list[str], **kw: Any) -> None:
    """Build an index on an existing table CONCURRENTLY, outside the migration's transaction, so writes to the
    table go on during the build. An index a failed or killed build left INVALID is dropped and built again; a
    valid one is kept, so the step can be run again after a failure part-way. `kw` as `op.create_index`'s
    (e.g. `postgresql_where`)."""
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        valid = bind.scalar(
            text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"), {"name": name}
        )
        if valid is False:
            op.drop_index(name, table_name=table, postgresql_concurrently=True)
        op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True, **kw)


def drop_retention_indexes() -> None:
    with op.get_context().autocommit_block():
        for name, (table, _) in RETENTION_INDEXES.items():
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
