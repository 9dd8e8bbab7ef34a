"""PostgreSQL connections a deployment may open, from the settings each container is given (deploy/README.md,
"Database connections"): per service process db_pool_size + db_max_overflow + its read pool + 2."""

from __future__ import annotations

import math
from collections.abc import Mapping

from onepool_runtime import db, readpool
from onepool_runtime.settings import ServiceSettings

# Besides its pools, each service process holds one connection for the outbox relay (relay_thread.py's engine,
# pool_size=1) and one for readiness (db.DatabaseProbe).
RELAY_AND_READINESS = 2
# `onepool migrate` (NullPool): the connection migrating plus the one holding the advisory lock.
MIGRATE = 2
# PostgreSQL's default superuser_reserved_connections: slots only a superuser may take.
SUPERUSER_RESERVED = 3
# Kept free for operators, monitoring and backups (deploy/README.md, "Database connections").
HEADROOM = 0.10


def usable(max_connections: int) -> int:
    """What the services and `migrate` may use of a server's max_connections: their role is no superuser."""
    return max_connections - SUPERUSER_RESERVED - math.ceil(max_connections * HEADROOM)


def setting(env: Mapping[str, str], name: str) -> int:
    value = env.get(f"ONEPOOL_{name.upper()}")
    return int(value) if value is not None else int(ServiceSettings.model_fields[name].default)


def per_process(env: Mapping[str, str]) -> int:
    """The most connections one service process given `env` may hold at once."""
    pool, overflow = setting(env, "db_pool_size"), setting(env, "db_max_overflow")
    # The read pool's size is what db.create_engine derives from the pool's (no connection is opened here).
    engine = db.create_engine("postgresql+asyncpg://x@localhost/x", "x", pool_size=pool, max_overflow=overflow)
    return pool + overflow + readpool.connect_spec(engine).size + RELAY_AND_READINESS
