"""Every enum a service translates to or from protobuf maps each of its values, both ways (issue 10 item 6:
the maps are built by `onepool_runtime.protobuf.enum_maps` from the proto descriptors, none by hand)."""

from __future__ import annotations

import importlib
from enum import Enum
from types import ModuleType

import pytest

MODULES = [
    "onepool_channels.adapters.mappers",
    "onepool_dealers.adapters.mappers",
    "onepool_inventory.adapters.mappers",
    "onepool_orders.adapters.mappers",
    "onepool_runtime.protobuf",
]


def _enum_maps(module: ModuleType) -> dict[str, dict[Enum, int]]:
    """The module's domain-enum -> proto-number maps, by name."""
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, dict) and value and all(isinstance(k, Enum) for k in value)
    }


@pytest.mark.parametrize("module_name", MODULES)
def test_every_domain_value_maps_to_a_distinct_proto_value_and_back(module_name: str) -> None:
    module = importlib.import_module(module_name)
    maps = _enum_maps(module)
    assert maps, f"{module_name} has no enum maps"
    for name, forward in maps.items():
        domain = type(next(iter(forward)))
        assert set(forward) == set(domain), f"{module_name}.{name} misses {set(domain) - set(forward)}"
        assert len(set(forward.values())) == len(forward), f"{module_name}.{name} maps two values to one"
        assert 0 not in forward.values(), f"{module_name}.{name} maps a value to UNSPECIFIED"
        back = getattr(module, f"{name}_BACK", None)
        if back is not None:
            assert {number: member for member, number in forward.items()} == back, f"{name}_BACK is not the inverse"


def test_settlement_reads_every_channel_type_the_contract_has() -> None:
    """Settlement's local copy of a channel keeps its type by the contract's enum (derived with enum_maps, not a
    hand map): every value channels can publish arrives as the member of the same name."""
    from onepool.channels.v1 import channels_pb2
    from onepool_settlement.domain.model import ChannelType
    from onepool_settlement.entrypoints.events_in import channel_terms

    for name, number in channels_pb2.ChannelType.items():
        terms = channel_terms(channels_pb2.Channel(id="C1", type=number))  # type: ignore[arg-type]
        assert terms.type is ChannelType(name.removeprefix("CHANNEL_TYPE_")), name
    assert channel_terms(channels_pb2.Channel(id="C1", type=99)).type is ChannelType.UNSPECIFIED  # type: ignore[arg-type]
