"""journal lines name the transaction that wrote them: ListEntries pages never skip a line committed late

A line's id comes from a sequence when it is inserted, not when its transaction commits, so a posting that
took id 5 and committed after another took id 6 and committed made a reader who had paged past 6 miss 5 for
ever. Each line now carries `xact_id`, its transaction's id (`pg_current_xact_id()`, as a bigint: the 64-bit
xid8, which never wraps around), and ListEntries pages in (xact_id, id) order, only over lines whose
transaction is older than every transaction still running (`pg_snapshot_xmin`): none of those can still add
a line, and every line a later transaction writes sorts after them (repository.page_lines).

- The column is added with the constant default 0 (no table rewrite: every existing line reads 0, and all of
  them were committed before this revision took the table's lock), then defaults to the writing transaction's
  id for every new line. Existing lines therefore keep their id order, ahead of every new one, and a page
  token of the id order ({"after": id}) reads as (0, id).
- `journal_lines_by_party_xact` (party, xact_id, id) replaces `journal_lines_by_party` (party, currency, id),
  which only the id-ordered listing read; `journal_lines_by_xact` (xact_id, id) pages every party's lines.
  Both are built CONCURRENTLY: postings go on during the build.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WRITING_TRANSACTION = "((pg_current_xact_id())::text)::bigint"


def upgrade() -> None:
    # IF NOT EXISTS: the index builds below commit on their own, so a failure part-way runs this again.
    op.execute("ALTER TABLE journal_lines ADD COLUMN IF NOT EXISTS xact_id bigint NOT NULL DEFAULT 0")
    op.alter_column("journal_lines", "xact_id", server_default=sa.text(WRITING_TRANSACTION))
    create_index_online("journal_lines_by_party_xact", "journal_lines", ["party", "xact_id", "id"])
    create_index_online("journal_lines_by_xact", "journal_lines", ["xact_id", "id"])
    with op.get_context().autocommit_block():
        op.drop_index(
            "journal_lines_by_party", table_name="journal_lines", postgresql_concurrently=True, if_exists=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "journal_lines_by_party",
            "journal_lines",
            ["party", "currency", "id"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.drop_index("journal_lines_by_xact", table_name="journal_lines", postgresql_concurrently=True, if_exists=True)
        op.drop_index(
            "journal_lines_by_party_xact", table_name="journal_lines", postgresql_concurrently=True, if_exists=True
        )
    op.drop_column("journal_lines", "xact_id")
