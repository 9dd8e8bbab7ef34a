"""journal entries keep where their transaction stood among the others: a time window of ListEntries is an xact range

ListEntries pages in (xact_id, id) order; a window (`from`/`to`) filtered posting times along that index, so a
page read every line before the window (the first page of the last 30 days: 9M lines removed, 2.7 s at 10M
lines) and the last page of an old month read every line after it. Each entry now records two facts of its
posting transaction, from which a window's bounds in xact order follow exactly (repository.window_bounds):

- `snapshot_xmin`: the xmin of the posting statement's snapshot, taken before the entry's `created_at`
  (`clock_timestamp()` during the insert). Every transaction that writes a line at or after that time was
  running then or began later, so its id is at least this: the latest entry posted at or before a window's
  start bounds the window's xact_ids from below.
- `xact_started_at`: its transaction's start (`now()`), before the transaction took its id. An entry whose
  transaction started at or after a window's end has an id above every line posted before that end: its
  xact_id bounds the window from above.

Both are added with constant defaults (no table rewrite; existing entries read 0 and NULL, which bound
nothing, so windows over them read as before), then default to the values above. No index: the bounds are
found by `journal_entries_by_time`.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNAPSHOT_XMIN = "((pg_snapshot_xmin(pg_current_snapshot()))::text)::bigint"


def upgrade() -> None:
    op.execute("ALTER TABLE journal_entries ADD COLUMN IF NOT EXISTS snapshot_xmin bigint NOT NULL DEFAULT 0")
    op.alter_column("journal_entries", "snapshot_xmin", server_default=sa.text(SNAPSHOT_XMIN))
    op.execute("ALTER TABLE journal_entries ADD COLUMN IF NOT EXISTS xact_started_at timestamptz")
    op.alter_column("journal_entries", "xact_started_at", server_default=sa.text("now()"))


def downgrade() -> None:
    op.drop_column("journal_entries", "xact_started_at")
    op.drop_column("journal_entries", "snapshot_xmin")
