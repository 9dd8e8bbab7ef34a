"""Developer tooling: autogenerate a service migration against a throwaway embedded PostgreSQL.

uv run python -m onepool_runtime.devtools revision inventory "add thing"
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from onepool_runtime.embedded import EmbeddedPostgres
from onepool_runtime.migrations import alembic_config, upgrade_sync

ROOT = Path(__file__).resolve().parents[4]


def revision(service: str, message: str) -> None:
    script = ROOT / "services" / service / "migrations"
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=False)
        pg.start()
        try:
            upgrade_sync(script, pg.url, service)
            command.revision(alembic_config(script, pg.url, service), message=message, autogenerate=True)
        finally:
            pg.stop()


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "revision":
        raise SystemExit(__doc__)
    revision(sys.argv[2], sys.argv[3])
