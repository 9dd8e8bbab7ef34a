"""Orders' lifecycle is orders' own: its readers decide from the facts its events state
(onepool/orders/v1/facts.proto), so orders may rename a status and nothing outside orders breaks.

Two proofs:
- statically, no module outside orders (and outside the generated contracts) names the OrderStatus enum or
  any of its values, in code or in a string (getattr(pb, f"ORDER_STATUS_{...}") counts), and the event
  consumers (settlement, dealers) do not even import orders' API module;
- at run time, the contracts are regenerated from protos in which every OrderStatus value (and the enum) is
  renamed; with them in place of the committed ones, every module outside orders still imports and
  settlement's and dealers' consumers still read the same facts from an orders event.

Scope: services, libraries and the consumer suites (tests/settlement, tests/dealers). The CLI's demo and the
platform tests that drive orders' API (tests/flows, tests/channels, ...) assert orders' own statuses and change
with them.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWNERS = (ROOT / "services" / "orders", ROOT / "libs" / "contracts")
# Clients of orders' API, which show its statuses to a person as a storefront would (like the platform tests).
API_CLIENTS = (ROOT / "libs" / "cli" / "src" / "onepool_cli" / "demo",)
STATUS_NAME = re.compile(r"\bOrderStatus\b|ORDER_STATUS_")


def _scanned() -> list[Path]:
    roots = [*ROOT.glob("services/*"), *ROOT.glob("libs/*"), ROOT / "tests" / "settlement", ROOT / "tests" / "dealers"]
    files = []
    for root in roots:
        if any(root == owner for owner in OWNERS):
            continue
        files += [
            p
            for p in root.rglob("*.py")
            if ".venv" not in p.parts
            and "__pycache__" not in p.parts
            and not any(p.is_relative_to(client) for client in API_CLIENTS)
        ]
    return sorted(files)


def status_references(source: str) -> list[str]:
    """Every place a module names orders' status enum or one of its values (identifiers, attributes, imported
    names, and string pieces, so lookups by a built name are caught too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.alias):
            text = node.name
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if STATUS_NAME.search(text):
            found.append(f"line {getattr(node, 'lineno', '?')}: {text[:60]!r}")
    return found


def orders_api_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "onepool.orders.v1":
            found += [f"line {node.lineno}: {a.name}" for a in node.names if a.name.startswith("orders_pb2")]
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: {a.name}" for a in node.names if a.name.startswith("onepool.orders.v1.orders")
            ]
    return found


def test_the_scan_finds_status_references_however_they_are_spelled() -> None:
    """The scanner itself, on the forms the consumers used before they read facts."""
    before = textwrap.dedent(
        """
        from onepool.orders.v1 import orders_pb2
        from onepool.orders.v1.orders_pb2 import OrderStatus
        PAID = (orders_pb2.ORDER_STATUS_PAID,)
        name = orders_pb2.OrderStatus.Name(3).removeprefix("ORDER_STATUS_")
        built = getattr(orders_pb2, f"ORDER_STATUS_{name}")
        """
    )
    assert sorted({ref.split(":")[0] for ref in status_references(before)}) == ["line 3", "line 4", "line 5", "line 6"]
    assert len(orders_api_imports(before)) == 1
    assert status_references("facts.is_paid and not facts.is_open  # the status") == []


def test_no_module_outside_orders_names_orders_statuses() -> None:
    files = _scanned()
    assert any("onepool_settlement" in p.parts for p in files) and any("onepool_dealers" in p.parts for p in files)
    offenders = {
        str(p.relative_to(ROOT)): refs for p in files if (refs := status_references(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}, f"read the facts orders' events state instead: {offenders}"


def test_event_consumers_do_not_import_orders_api() -> None:
    """Settlement and dealers know orders only by its events (tests/dealers also places orders through
    orders' API, end to end, so it is left out here; the status scan above still covers it)."""
    files = [*ROOT.glob("services/settlement/**/*.py"), *ROOT.glob("services/dealers/**/*.py")]
    files += [*(ROOT / "tests" / "settlement").rglob("*.py")]
    offenders = {
        str(p.relative_to(ROOT)): refs for p in files if (refs := orders_api_imports(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}, offenders


def _renamed_contracts(tmp: Path) -> Path:
    """The contracts generated from protos in which orders renamed every status and the enum itself."""
    protos = tmp / "protos"
    shutil.copytree(ROOT / "protos", protos)
    api = protos / "onepool" / "orders" / "v1" / "orders.proto"
    text = api.read_text()
    renamed = re.sub(r"\bORDER_STATUS_(\w+)", r"ORDER_STATUS_RENAMED_\1", text)
    renamed = re.sub(r"\bOrderStatus\b", "OrderLifecycleState", renamed)
    assert renamed.count("ORDER_STATUS_RENAMED_") == 11 and "OrderStatus" not in renamed
    api.write_text(renamed)
    spec = importlib.util.spec_from_file_location(
        "generate_renamed", ROOT / "libs" / "contracts" / "tools" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generator
    try:
        spec.loader.exec_module(generator)
        generator.PROTOS = protos
        out = tmp / "contracts"
        generator.generate(out)
    finally:
        del sys.modules[spec.name]
    return out


_RUN_WITH_RENAMED = """
import importlib, pkgutil, sys
from onepool.orders.v1 import orders_pb2, events_pb2, facts_pb2
from onepool.common.v1 import common_pb2

assert orders_pb2.__file__.startswith(sys.argv[1]), orders_pb2.__file__
assert not hasattr(orders_pb2, "ORDER_STATUS_PAID") and hasattr(orders_pb2, "ORDER_STATUS_RENAMED_PAID")

imported = 0
for package in sys.argv[2:]:
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if info.name.endswith("__main__"):
            continue  # runs the service
        importlib.import_module(info.name)
        imported += 1

def cny(n):
    return common_pb2.Money(currency="CNY", amount_minor=n)

facts = facts_pb2.OrderFacts(
    order_id="O-1", channel_id="MKT-1", dealer_id="D-1", total=cny(500), paid=cny(500), refunded=cny(0),
    is_open=True, is_paid=True,
    lines=[facts_pb2.OrderLineFacts(sku="A", quantity=1, unit_price=cny(500), line_total=cny(500))],
    fulfillments=[facts_pb2.FulfillmentFacts(fulfillment_id="F-1", location_id="SHOP", location_owner_dealer_id="D-2",
                                             lines=[facts_pb2.StockLineFacts(sku="A", quantity=1)], has_left=True)],
)
wire = events_pb2.OrderShipped(facts=facts, fulfillment_id="F-1").SerializeToString()
event = events_pb2.OrderShipped.FromString(wire)

from onepool_settlement.entrypoints.events_in import order_facts
read = order_facts(event.facts, default_currency="CNY")
assert (read.id, read.is_paid, read.paid, read.fulfillments[0].shipped, read.fulfillments[0].owner_dealer_id) == (
    "O-1", True, 500, True, "D-2"), read

print(f"imported {imported} modules")
"""


def test_renaming_orders_statuses_breaks_nothing_outside_orders(tmp_path: Path) -> None:
    contracts = _renamed_contracts(tmp_path)
    packages = [
        "onepool_settlement",
        "onepool_dealers",
        "onepool_channels",
        "onepool_inventory",
        "onepool_runtime",
        "onepool_cli",
    ]
    packages += [
        p.name for p in (ROOT / "libs").glob("*/src/onepool_*") if p.name not in {*packages, "onepool_contracts"}
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(contracts), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", _RUN_WITH_RENAMED, str(contracts), *packages],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported" in result.stdout

    # Orders itself is the one that must change with its statuses: the same run proves the rename took effect.
    broken = subprocess.run(
        [sys.executable, "-c", "import onepool_orders.adapters.mappers"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Orders' mappers build their enum maps from the proto enum by name, so the renamed enum is what breaks.
    assert broken.returncode != 0 and ("ORDER_STATUS_" in broken.stderr or "OrderStatus" in broken.stderr), (
        broken.stderr
    )
