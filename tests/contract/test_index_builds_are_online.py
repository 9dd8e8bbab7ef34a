"""A migration that adds an index to a table an earlier revision created builds it CONCURRENTLY (in an autocommit
block, as `onepool_runtime.migrations.create_retention_indexes` does): the running release keeps writing that table
while the Job migrates, and a plain CREATE INDEX holds every write for the whole build.

Read from the migration scripts (their `op.create_index` calls, CREATE INDEX in `op.execute`, and the tables each
script creates itself), so a new migration is held to it before it ever runs. The revisions written before this
rule are listed, with why each is left as it was.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
_RAW_INDEX = re.compile(
    r"CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY)(IF\s+NOT\s+EXISTS\s+)?\S+\s+ON\s+(ONLY\s+)?\"?(?P<table>\w+)",
    re.IGNORECASE,
)

# (service, script, index table): built plainly before this rule. Each of these revisions also adds CHECK
# constraints or triggers to the same tables, which lock them as long; an index made concurrent alone would not
# make the revision online, and it has been applied wherever the services run.
BEFORE_THE_RULE = {
    ("inventory", "0004_expected_receipts.py", "allocations"),
    ("orders", "0005_presale.py", "orders"),
    ("settlement", "0004_batched_postings.py", "journal_lines"),
    ("settlement", "0004_batched_postings.py", "payouts"),
}


def _op_calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "op"
    ]


def _argument(call: ast.Call, position: int, keyword: str) -> object:
    if len(call.args) > position and isinstance(call.args[position], ast.Constant):
        return call.args[position].value  # type: ignore[attr-defined]
    for kw in call.keywords:
        if kw.arg == keyword and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def plain_builds_on_existing_tables(script: Path) -> list[tuple[str, int]]:
    """(table, line) of each index the script builds without CONCURRENTLY on a table it did not create."""
    tree = ast.parse(script.read_text())
    created = {_argument(call, 0, "table_name") for call in _op_calls(tree, "create_table")}
    found = []
    for call in _op_calls(tree, "create_index"):
        table = _argument(call, 1, "table_name")
        concurrent = any(kw.arg == "postgresql_concurrently" for kw in call.keywords)
        if table not in created and not concurrent:
            found.append((str(table), call.lineno))
    for call in _op_calls(tree, "execute"):  # the same, written as SQL
        sql = _argument(call, 0, "sqltext")
        build = _RAW_INDEX.search(sql) if isinstance(sql, str) else None
        if build is not None and build["table"] not in created:
            found.append((build["table"], call.lineno))
    return found


def test_indexes_on_existing_tables_are_built_concurrently() -> None:
    offending = {
        (script.parts[-4], script.name, table): line
        for script in sorted(SERVICES.glob("*/migrations/versions/*.py"))
        for table, line in plain_builds_on_existing_tables(script)
    }
    new = {key: line for key, line in offending.items() if key not in BEFORE_THE_RULE}
    assert not new, (
        "build these CONCURRENTLY in an autocommit block (see onepool_runtime.migrations.create_retention_indexes): "
        + ", ".join(f"{service}/{script}:{line} on {table}" for (service, script, table), line in new.items())
    )
    assert set(offending) >= BEFORE_THE_RULE  # a listed revision that is fixed comes off the list


def test_the_check_sees_a_plain_build_and_passes_a_concurrent_one(tmp_path: Path) -> None:
    script = tmp_path / "0009_example.py"
    script.write_text(
        "def upgrade():\n"
        "    op.create_table('fresh', sa.Column('id', sa.Integer))\n"
        "    op.create_index('fresh_by_id', 'fresh', ['id'])\n"
        "    op.create_index('orders_by_x', 'orders', ['x'])\n"
        "    op.create_index('orders_by_y', table_name='orders', columns=['y'])\n"
        "    op.execute('CREATE INDEX orders_by_w ON orders (w)')\n"
        "    op.execute('CREATE INDEX fresh_by_w ON fresh (w)')\n"
        "    with op.get_context().autocommit_block():\n"
        "        op.create_index('orders_by_z', 'orders', ['z'], postgresql_concurrently=True)\n"
        "        op.execute('CREATE UNIQUE INDEX CONCURRENTLY orders_by_v ON orders (v)')\n"
    )
    assert plain_builds_on_existing_tables(script) == [("orders", 4), ("orders", 5), ("orders", 6)]
