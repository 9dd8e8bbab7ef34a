"""A batch write joined to `unnest` of its parameters also names its rows directly (`t.key = ANY($n)`, or an
equality on a parameter), so the index can find them.

A prepared statement settles on a generic plan after five executions, and there `unnest($1)` is estimated at 100
rows: `UPDATE t ... FROM unnest(...) WHERE t.key = u.key` alone was planned as a hash join over a seq scan of the
whole table wherever the table was small enough at the time, and it stayed that way as the table grew. It was
found five times, a few at a time: inventory's Reserve batch (stock levels, channel allocations, sales counters),
the idempotency keys' settle, settlement's noted reports (services/inventory/tests/test_reserve_plans.py,
tests/settlement/test_posting_plans.py); this check flags each of them in the code as it was. It reads every
string constant of the services and the runtime, so the next one is caught before it runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("libs/runtime/src/**/*.py")]

# SQL cut before each statement or data-modifying CTE's verb, so a write is read apart from the ones around it.
_VERB = re.compile(r"(?=\b(?:UPDATE|DELETE\s+FROM|INSERT\s+INTO|SELECT)\b)", re.IGNORECASE)
_WRITE = re.compile(
    r"^(UPDATE|DELETE\s+FROM)\s+(?P<table>\w+)(\s+(AS\s+)?(?P<alias>\w+))?\b.*?"
    r"\b(FROM|USING)\s+unnest\s*\(.*?\bWHERE\b(?P<where>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_NOT_ALIASES = {"set", "from", "using", "where"}


def _direct(where: str, names: set[str]) -> bool:
    """Whether the WHERE names the target's rows by a parameter: `x.col = ANY($n...)` or `x.col = $n`."""
    return any(re.search(rf"\b{re.escape(name)}\.\w+\s*=\s*(ANY\s*\(\s*)?\$\d", where, re.IGNORECASE) for name in names)


def joined_writes_without_a_direct_key(text: str) -> list[str]:
    """The target tables of the batch writes in `text` that find their rows only through the join."""
    found = []
    for part in _VERB.split(text):
        m = _WRITE.match(part.strip())
        if m is None:
            continue
        names = {m.group("table")}
        if m.group("alias") and m.group("alias").lower() not in _NOT_ALIASES:
            names.add(m.group("alias"))
        if not _direct(m.group("where"), names):
            found.append(m.group("table"))
    return found


def _constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else "X" for v in node.values]
            out.append((node.lineno, "".join(str(p) for p in parts)))
    return out


def test_every_batch_write_joined_to_unnest_names_its_rows_for_the_index() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {table}"
        for path in SOURCES
        for line, text in _constants(path)
        for table in joined_writes_without_a_direct_key(text)
    ]
    assert not offenders, "batch writes that find their rows only through the join:\n" + "\n".join(offenders)


def test_the_check_catches_a_join_alone_and_passes_a_direct_key() -> None:
    alone = "UPDATE order_settlements o SET x = u.x FROM unnest($1::text[], $2::int[]) AS u(id, x) WHERE o.id = u.id"
    assert joined_writes_without_a_direct_key(alone) == ["order_settlements"]
    keyed = alone + " AND o.id = ANY($1::text[])"
    assert joined_writes_without_a_direct_key(keyed) == []
    anchored = (
        "UPDATE order_lines SET q = v.q FROM unnest($2::text[], $3::int[]) AS v(sku, q)"
        " WHERE order_lines.order_id = $1 AND order_lines.sku = v.sku"
    )
    assert joined_writes_without_a_direct_key(anchored) == []
    in_a_cte = (
        "WITH a AS (UPDATE keys SET r = a.r FROM unnest($1::text[], $2::bytea[]) AS a(k, r) WHERE keys.key = a.k)"
        " DELETE FROM keys WHERE key = ANY($3::text[])"
    )
    assert joined_writes_without_a_direct_key(in_a_cte) == ["keys"]
