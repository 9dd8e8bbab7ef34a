"""Kubernetes starts a release's pods together with its migrate Job, so new code may run on a schema behind it.
Such a service is NOT_SERVING until the Job has run, then SERVING without a restart; meanwhile a missing table
or column is the infrastructure's failure: callers get UNAVAILABLE, consumers retry without dead-lettering.
(Before: readiness asked only `SELECT 1`, callers got INTERNAL and channels' stock feed filled its DLQ.)"""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime import db, infra, migrations, server
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.grpc_errors import refusal
from onepool_runtime.server import ServiceHost, ServiceParts
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
SCRIPTS = Path(__file__).parent / "schema_migrations"  # 0001 (runtime tables), then 0002 (adds `widgets`)


async def _nothing(_infra) -> ServiceParts:  # type: ignore[no-untyped-def]
    return ServiceParts(register=lambda _server: None, service_names=["onepool.test.v1.Nothing"], policy={})


async def _until(condition, what: str, wait: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(wait / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {what}")


async def _missing_table(host: ServiceHost) -> Exception:
    assert host.infra is not None
    try:
        async with host.infra.engine.connect() as conn:
            await conn.execute(text("SELECT count(*) FROM widgets"))
    except Exception as exc:
        return exc
    raise AssertionError("widgets exists")


async def test_readiness_waits_for_the_schema_and_a_missing_table_meanwhile_is_unavailable(
    env, host_settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(server, "SCHEMA_CHECK_SECONDS", 0.2)
    schema = f"sb_{uuid.uuid4().hex[:8]}"
    await migrations.upgrade(SCRIPTS, env.database_url, schema, "0001")  # the release before this code's
    host = ServiceHost(host_settings(db_schema=schema, health_check_seconds=0.1), _nothing, migrations=SCRIPTS)
    await host.start()
    try:
        assert host._serving is False  # the database answers, but the schema is behind the code

        code, status = refusal("/onepool.test.v1.Nothing/Read", await _missing_table(host))
        assert code is grpc.StatusCode.UNAVAILABLE, code
        assert "not migrated to this release yet" in status.details

        await migrations.upgrade(SCRIPTS, env.database_url, schema)  # the migrate Job
        await _until(lambda: host._serving, "SERVING once migrated")
        assert host.infra is not None
        async with host.infra.engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM widgets")) == 0

        # At the code's head, a missing table is a bug again, not an outage to wait out.
        async with host.infra.engine.begin() as conn:
            await conn.execute(text("DROP TABLE widgets"))
        bug = await _missing_table(host)
        assert not infra.is_infrastructure(bug)
        assert refusal("/onepool.test.v1.Nothing/Read", bug)[0] is grpc.StatusCode.INTERNAL

        # A revision this code does not know is a newer release's: an old pod of a rolling upgrade serves on.
        async with host.infra.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
        await asyncio.sleep(1.0)
        assert host._serving

        async with host.infra.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        await _until(lambda: not host._serving, "NOT_SERVING when behind again")
    finally:
        await host.stop()
    assert not infra.is_infrastructure(bug)  # the stopped host's verdict is gone with it


async def test_a_schema_never_migrated_is_behind(env) -> None:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(db.dsn(env.database_url))
    check = migrations.SchemaCheck(SCRIPTS, f"never_{uuid.uuid4().hex[:8]}", interval=0)
    try:
        assert await check.check(conn) is False
        with pytest.raises(asyncpg.UndefinedTableError) as missing:
            await conn.fetch("SELECT * FROM no_such_table")
        assert infra.is_infrastructure(missing.value)
    finally:
        check.close()
        await conn.close()
    assert not infra.is_infrastructure(missing.value)


async def test_a_consumer_retries_an_event_that_meets_a_missing_table_without_dead_lettering_it(env) -> None:  # type: ignore[no-untyped-def]
    schema_check = migrations.SchemaCheck(SCRIPTS, env.schema)  # a host that has not seen its schema migrated
    tried: list[str] = []

    async def reads_widgets(event, uow) -> None:  # type: ignore[no-untyped-def]
        tried.append(event.meta.event_id)
        await uow.session.execute(text("SELECT count(*) FROM widgets"))

    consumer = EventConsumer(
        env.js,
        env.uow,
        service="testsvc",
        name="behind",
        stream="TESTSVC",
        subscriptions=[Subscription(f"{env.schema}.>", events_pb2.StockChanged, reads_widgets)],
        max_deliver=2,
        backoff=lambda n: 0.05,
        infra_backoff=lambda n: 0.05,
    )
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta(event_id="evt-behind"))
    await env.js.publish(f"{env.schema}.stock.changed", event.SerializeToString(), headers={"Nats-Msg-Id": "x1"})
    task = asyncio.create_task(consumer.run())
    try:
        await _until(lambda: len(tried) >= 5, "retried past max_deliver")
        async with env.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE widgets (id int)"))  # the migration
        await _until(lambda: consumer.processed == 1, "applied once the table exists")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        schema_check.close()
    sub = await env.js.pull_subscribe(consumer.dlq_subject, stream="DLQ")
    with pytest.raises(TimeoutError):
        await sub.fetch(1, timeout=0.5)


def _revision(scripts: Path, revision: str, down: str | None, table: str, labels: str = "None") -> None:
    (scripts / "versions" / f"{revision}.py").write_text(
        textwrap.dedent(f'''
        import sqlalchemy as sa
        from alembic import op
        revision = "{revision}"
        down_revision = {down!r}
        branch_labels = {labels}
        depends_on = None
        def upgrade():
            op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))
        def downgrade():
            op.drop_table("{table}")
        ''')
    )


def _chain(root: Path, *, branch: bool) -> Path:
    scripts = root / ("with-branch" if branch else "chain")
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text("from onepool_runtime.migrations import run_env\n\nrun_env(None)\n")
    _revision(scripts, "0001", None, "widgets")
    _revision(scripts, "0002", "0001", "sprockets")
    if branch:
        _revision(scripts, "b001", None, "gadgets", labels='("extra",)')
    return scripts


async def test_a_branch_a_release_adds_is_behind_until_applied(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Audit N: heads {0002, b001} with the database at 0002 read as "at head": SERVING, and the new branch's
    missing table a bug (INTERNAL, dead-lettered) in the very window the check is for."""
    schema = f"br_{uuid.uuid4().hex[:8]}"
    await migrations.upgrade(_chain(tmp_path, branch=False), env.database_url, schema, "head")
    check = migrations.SchemaCheck(_chain(tmp_path, branch=True), schema, interval=0)
    conn = await asyncpg.connect(db.dsn(env.database_url))
    try:
        assert await check.check(conn) is False
        with pytest.raises(asyncpg.UndefinedTableError) as missing:
            await conn.fetch(f'SELECT * FROM "{schema}".gadgets')
        assert infra.is_infrastructure(missing.value)
    finally:
        check.close()
        await conn.close()


async def test_a_newer_releases_revision_serves_and_a_missing_column_there_is_a_bug(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Audit N: at a revision the code does not know (a newer release migrated; the code rolled back), the
    schema is not behind: a missing column is a bug (dead-lettered, INTERNAL), not retried for as long as the
    process lives."""
    schema = f"nw_{uuid.uuid4().hex[:8]}"
    scripts = _chain(tmp_path, branch=False)
    await migrations.upgrade(scripts, env.database_url, schema, "head")
    conn = await asyncpg.connect(db.dsn(env.database_url))
    await conn.execute(f"UPDATE \"{schema}\".alembic_version SET version_num = '0003'")
    check = migrations.SchemaCheck(scripts, schema, interval=0)
    try:
        assert await check.check(conn) is True
        with pytest.raises(asyncpg.UndefinedColumnError) as missing:
            await conn.fetch(f'SELECT no_such_column FROM "{schema}".widgets')
        assert not infra.is_infrastructure(missing.value)
    finally:
        check.close()
        await conn.close()
