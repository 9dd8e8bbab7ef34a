"""A channel's return window (days an order may be returned after its goods left) through the real channels
service: 7 unless set, 0..365, refused with its field path otherwise, changed by UpdateChannel (mask path
`return_window_days`, or set without a mask), and 7 for channels created before the field (migration 0010)."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from onepool.channels.v1 import channels_pb2 as cpb
from onepool_cli.services import SERVICES
from onepool_runtime.db import create_engine
from onepool_runtime.migrations import upgrade
from onepool_runtime.testing.services import field_violations
from sqlalchemy import text

pytestmark = pytest.mark.asyncio


async def test_the_window_defaults_to_seven_days_is_validated_and_changes(
    world: Any, channels: Any, admin: Any
) -> None:
    def create(**fields: Any) -> cpb.CreateChannelRequest:
        return cpb.CreateChannelRequest(code=world.name("rw"), name="rw", type=cpb.CHANNEL_TYPE_MARKETPLACE, **fields)

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await channels.CreateChannel(create(return_window_days=366), metadata=admin)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "return_window_days" in field_violations(bad.value)

    created = (await channels.CreateChannel(create(), metadata=admin)).channel
    assert created.HasField("return_window_days") and created.return_window_days == 7
    none_at_all = (await channels.CreateChannel(create(return_window_days=0), metadata=admin)).channel
    assert none_at_all.HasField("return_window_days") and none_at_all.return_window_days == 0

    async def update(channel: cpb.Channel, *paths: str) -> cpb.Channel:
        request = cpb.UpdateChannelRequest(channel=channel, update_mask=FieldMask(paths=list(paths)))
        return (await channels.UpdateChannel(request, metadata=admin)).channel  # type: ignore[no-any-return]

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await update(cpb.Channel(id=created.id, return_window_days=400), "return_window_days")
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "channel.return_window_days" in field_violations(bad.value)

    masked = await update(cpb.Channel(id=created.id, return_window_days=30), "return_window_days")
    assert (masked.return_window_days, masked.version, masked.name) == (30, created.version + 1, created.name)
    # Without a mask: a read-modify-write keeps it; setting it changes it.
    read = (await channels.GetChannel(cpb.GetChannelRequest(channel_id=created.id), metadata=admin)).channel
    read.name = "renamed"
    renamed = await update(read)
    assert (renamed.name, renamed.return_window_days) == ("renamed", 30)
    fortnight = await update(cpb.Channel(id=created.id, name="renamed", return_window_days=14))
    assert fortnight.return_window_days == 14
    unset = await update(cpb.Channel(id=created.id, name="renamed again"))  # unset without a mask: stays
    assert unset.return_window_days == 14


async def test_channels_created_before_the_field_get_seven_days(database_url: str) -> None:
    (spec,) = [s for s in SERVICES if s.name == "channels"]
    schema = f"window_{uuid.uuid4().hex[:8]}"
    engine = create_engine(database_url, schema)
    try:
        await upgrade(spec.migrations, database_url, schema, "0009")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO channels (id, code, name, type, owner_dealer_id, fee_rate_bps, location_ids,"
                    " location_types, max_share_bps, buffer_units, own_stock, catalogue, status, currency)"
                    " VALUES ('C1', 'OLD', 'old', 'MARKETPLACE', '', 0, '{}', '{}', 0, 0, 'WHOLE_ORDER',"
                    " 'LISTINGS', 'ACTIVE', 'CNY')"
                )
            )
        await upgrade(spec.migrations, database_url, schema)
        async with engine.begin() as conn:
            days = (await conn.execute(text("SELECT return_window_days FROM channels WHERE id = 'C1'"))).scalar_one()
        assert days == 7
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()
