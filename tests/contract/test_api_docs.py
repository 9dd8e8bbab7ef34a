"""The API reference (docs/api.md) is what `make docs` generates from the protos' comments, and those comments
are complete: every RPC, field and enum value has one, and every ErrorInfo reason a service can answer with is
named in the errors of some RPC (a reason raised in code but written nowhere fails here)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The code that raises FailedPrecondition (and InsufficientStock) with a literal reason.
RAISING = [ROOT / "libs" / "kernel" / "src", *sorted((ROOT / "services").glob("*/src"))]


@pytest.fixture(scope="module")
def apidocs(load_tool: Callable[[str], ModuleType]) -> ModuleType:
    return load_tool("apidocs")


def test_committed_api_reference_is_what_make_docs_generates(apidocs: ModuleType, tmp_path: Path) -> None:
    written = apidocs.generate(tmp_path)
    assert written.read_text() == (ROOT / "docs" / "api.md").read_text(), "stale docs/api.md: run `make docs`"


def _raised_reasons() -> dict[str, list[str]]:
    """Every literal reason passed to FailedPrecondition(...) (or to a subclass's super().__init__), and where."""
    found: dict[str, list[str]] = {}
    for src in RAISING:
        for path in src.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                first = node.args[0]
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.isupper()
                if name in ("FailedPrecondition", "__init__") and literal:
                    assert isinstance(first, ast.Constant)
                    found.setdefault(first.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_reason_a_service_raises_is_documented_on_an_rpc(apidocs: ModuleType) -> None:
    raised = _raised_reasons()
    assert len(raised) >= 28, sorted(raised)  # the scan itself still finds them
    documented = apidocs.reasons(apidocs.services(apidocs.descriptor_set()))
    missing = {reason: where for reason, where in raised.items() if reason not in documented}
    assert missing == {}, f"reasons raised but named in no RPC's `Errors:` comment: {missing}"


def test_every_rpc_field_and_enum_value_has_a_comment(apidocs: ModuleType) -> None:
    files = apidocs.descriptor_set()
    bare = [
        f"{d.full_name}.{member}"
        for d in apidocs.declarations(files).values()
        for member, comment in zip(
            [m.name for m in (d.message.field if d.message is not None else d.enum.value)],
            d.member_comments,
            strict=True,
        )
        if not comment
    ]
    bare += [rpc.full_name for s in apidocs.services(files) for rpc in s.rpcs if not rpc.description]
    assert bare == []


def test_errors_comments_are_parsed_into_codes_and_reasons(apidocs: ModuleType) -> None:
    failures = apidocs.parse_failures(
        "x.Y",
        "NOT_FOUND (order, fulfillment); FAILED_PRECONDITION INVALID_ORDER_STATE (not paid, or a\n"
        " pickup order), RESERVATION_EXPIRED.",
    )
    assert [(f.code, f.reason, f.why) for f in failures] == [
        ("NOT_FOUND", "", "order, fulfillment"),
        ("FAILED_PRECONDITION", "INVALID_ORDER_STATE", "not paid, or a pickup order"),
        ("FAILED_PRECONDITION", "RESERVATION_EXPIRED", ""),
    ]
    with pytest.raises(SystemExit, match="gRPC status code"):
        apidocs.parse_failures("x.Y", "NOT_A_CODE (x)")
    with pytest.raises(SystemExit, match="names no ErrorInfo reason"):
        apidocs.parse_failures("x.Y", "FAILED_PRECONDITION when it is late")
