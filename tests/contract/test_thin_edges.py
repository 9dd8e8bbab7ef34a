"""Thin edges, read from the source: no module reaches into another's private names, servicers translate and
scope without rewriting what the caller sent, and domain events are recorded by the aggregates themselves."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "libs" / "contracts" / "src"


def _sources(*roots: str) -> Iterator[tuple[Path, ast.Module]]:
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            if GENERATED in path.parents or ".venv" in path.parts:
                continue
            yield path, ast.parse(path.read_text(), str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def test_no_module_imports_a_private_name_of_another() -> None:
    """`from onepool_runtime.idempotency import _is_retryable` couples a caller to what its owner may change at
    will: what others need is public, named and documented."""
    found = [
        f"{_where(path, node)} imports {node.module}.{alias.name}"
        for path, tree in _sources("services", "libs", "tests")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("onepool")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert not found, found


def test_servicers_never_rewrite_the_incoming_request() -> None:
    """What the caller's scope implies (its channel, its key space) goes into the command, not back into the
    request: the request stays what was sent."""
    found = []
    for path, tree in _sources("services"):
        if path.name != "grpc_api.py":
            continue
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                base = target
                while isinstance(base, ast.Attribute | ast.Subscript):
                    base = base.value
                if base is not target and isinstance(base, ast.Name) and base.id == "request":
                    found.append(_where(path, node))
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "request"
                and node.func.attr in {"CopyFrom", "MergeFrom", "Clear", "ClearField", "ParseFromString"}
            ):
                found.append(_where(path, node))
    assert not found, found


def test_only_the_domain_records_domain_events() -> None:
    """A handler that appends an event decides what happened on the aggregate's behalf; the aggregate records
    its own facts (its methods append to `events`), and use cases only call them."""
    found = [
        _where(path, node)
        for path, tree in _sources("services")
        if "src" in path.parts and "domain" not in path.parts
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"append", "extend", "insert"}
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "events"
    ]
    assert not found, found
