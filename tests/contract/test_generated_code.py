"""The committed contracts (including the event registry onepool_contracts/events.py) are exactly what `make proto`
generates, and the protos pass buf lint."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "libs" / "contracts" / "src"


def _load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("generate", ROOT / "libs" / "contracts" / "tools" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_regenerating_the_contracts_changes_nothing(tmp_path: Path) -> None:
    fresh = _load_generator().generate(tmp_path)
    fresh_rel = {p.relative_to(tmp_path) for p in fresh}
    committed_rel = {
        p.relative_to(COMMITTED) for p in COMMITTED.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert fresh_rel == committed_rel, "generated file set differs; run `make proto`"
    stale = [str(rel) for rel in sorted(fresh_rel) if (tmp_path / rel).read_bytes() != (COMMITTED / rel).read_bytes()]
    assert stale == [], f"stale generated code, run `make proto`: {stale}"


def test_protos_pass_buf_lint_standard() -> None:
    buf = Path(sys.executable).parent / "buf"
    result = subprocess.run([str(buf), "lint"], cwd=ROOT / "protos", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_contract_names_are_the_public_ones() -> None:
    """Service and RPC names from docs/contracts.md are fixed: users code against them."""
    from onepool.channels.v1 import channels_pb2
    from onepool.dealers.v1 import dealers_pb2
    from onepool.inventory.v1 import inventory_pb2
    from onepool.orders.v1 import orders_pb2
    from onepool.settlement.v1 import settlement_pb2

    expected = {
        (inventory_pb2, "InventoryService"): {
            "UpsertLocation",
            "ListLocations",
            "ReceiveStock",
            "AdjustStock",
            "SetSafetyStock",
            "GetAvailability",
            "Reserve",
            "CommitReservation",
            "ReleaseReservation",
            "FulfillReservation",
            "TransferStock",
            "ReceiveTransfer",
            "ListMovements",
        },
        (orders_pb2, "OrderService"): {
            "PlaceOrder",
            "GetOrder",
            "ListOrders",
            "PayOrder",
            "CancelOrder",
            "ShipFulfillment",
            "ConfirmPickup",
            "CompleteOrder",
            "ReturnItems",
        },
        (channels_pb2, "ChannelService"): {
            "CreateChannel",
            "GetChannel",
            "ListChannels",
            "UpdateChannel",
            "UpsertListing",
            "GetChannelStock",
            "ImportOrder",
            "WatchChannelStock",
        },
        (dealers_pb2, "DealerService"): {
            "RegisterDealer",
            "GetDealer",
            "ListDealers",
            "UpdateDealer",
            "AddDealerLocation",
            "PlaceReplenishment",
            "ShipReplenishment",
            "ReceiveReplenishment",
            "GetDealerOverview",
        },
        (settlement_pb2, "SettlementService"): {
            "GetBalance",
            "ListEntries",
            "GenerateStatement",
            "GetStatement",
            "Reconcile",
        },
    }
    for (module, service), rpcs in expected.items():
        methods = {m.name for m in module.DESCRIPTOR.services_by_name[service].methods}
        assert rpcs <= methods, (service, rpcs - methods)
