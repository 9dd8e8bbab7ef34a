"""What the scale suite checks beyond the fault suite's invariants (tests/faults/invariants.py), from the
JetStream API and the services' own streams:

- every event id is in its stream once (`stream_duplicates`), and counted (`stream_messages`);
- no reservation expired twice (`expired_twice`): `inventory.reservation.expired` per reservation id;
- every channel watcher, one per channels replica, saw every change (`Watchers`): after the run each
  watcher's last number per SKU is what GetChannelStock says;
- JetStream's recovery after a node loss (`jetstream_waiting_for`): every stream and durable consumer has
  a leader on a live node, and orders' stream takes new events again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

import grpc
import nats
from nats.js.api import DeliverPolicy
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.channels.v1 import channels_pb2_grpc
from onepool.inventory.v1 import events_pb2 as iev
from onepool_contracts.events import subject_of
from onepool_runtime.consumer import DLQ_STREAM
from onepool_runtime.messaging import STREAMS, server_urls

from tests.faults.supervisor import FaultStack
from tests.faults.workload import Client, RunData, World

MSG_ID = "Nats-Msg-Id"


async def _js(urls: list[str]):  # type: ignore[no-untyped-def]
    nc = await nats.connect(urls, allow_reconnect=False, connect_timeout=2)
    return nc, nc.jetstream(timeout=3)


async def stream_messages(stack: FaultStack) -> dict[str, int]:
    """Messages each service stream has taken so far (its last sequence: limits never drop them here)."""
    nc, js = await _js(server_urls(stack.nats.url))
    try:
        return {name: (await js.stream_info(name)).state.last_seq for name in STREAMS.values()}
    finally:
        await nc.close()


async def _read_stream(stack: FaultStack, stream: str, subject: str | None = None) -> list[nats.aio.msg.Msg]:
    """Every message of a stream (or of one subject in it), with an ordered consumer that acks nothing."""
    nc, js = await _js(server_urls(stack.nats.url))
    try:
        info = await js.stream_info(stream)
        last = info.state.last_seq
        if not info.state.messages:
            return []
        sub = await js.subscribe(
            subject or f"{stream.lower()}.>", stream=stream, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        out: list[nats.aio.msg.Msg] = []
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=3)
                except TimeoutError:
                    break
                out.append(msg)
                if msg.metadata.sequence.stream >= last:
                    break
        finally:
            await sub.unsubscribe()
        return out
    finally:
        await nc.close()


async def stream_duplicates(stack: FaultStack) -> dict[str, int]:
    """Event ids found more than once in a service stream (JetStream's duplicate window should drop them)."""
    found = {}
    for stream in STREAMS.values():
        ids = Counter((m.headers or {}).get(MSG_ID, "") for m in await _read_stream(stack, stream))
        extra = sum(n - 1 for i, n in ids.items() if i and n > 1)
        if extra:
            found[stream] = extra
    return found


async def expired_twice(stack: FaultStack) -> list[str]:
    """Reservations with more than one `inventory.reservation.expired` event."""
    subject = subject_of(iev.ReservationExpired)
    msgs = await _read_stream(stack, STREAMS["inventory"], subject)
    per = Counter(iev.ReservationExpired.FromString(m.data).reservation.id for m in msgs)
    return [f"reservation {r} expired {n} times" for r, n in per.items() if n > 1]


@dataclass
class Watchers:
    """One WatchChannelStock stream per channels replica and channel, each keeping the newest number per SKU."""

    stack: FaultStack
    world: World
    latest: dict[tuple[str, str], dict[str, tuple[int, int]]] = field(default_factory=dict)  # (replica, channel)
    updates: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    def start(self, admin: tuple[tuple[str, str], ...]) -> None:
        for replica in self.stack.replicas["channels"]:
            conn = grpc.aio.insecure_channel(self.stack.services[replica].address)
            self._channels.append(conn)
            stub = channels_pb2_grpc.ChannelServiceStub(conn)
            for channel_id in self.world.channel_ids:
                self._tasks.append(asyncio.create_task(self._watch(stub, replica, channel_id, admin)))

    async def _watch(self, stub, replica: str, channel_id: str, admin) -> None:  # type: ignore[no-untyped-def]
        seen = self.latest.setdefault((replica, channel_id), {})
        while True:  # a stream ended by a restart is opened again, as a channel integration would
            try:
                stream = stub.WatchChannelStock(cpb.WatchChannelStockRequest(channel_id=channel_id), metadata=admin)
                async for update in stream:
                    version, _ = seen.get(update.sku, (-1, 0))
                    if update.version >= version:
                        seen[update.sku] = (update.version, update.sellable)
                    self.updates += 1
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in self._channels:
            await conn.close(None)

    async def missing(self, client: Client, run: RunData) -> list[str]:
        """Watchers whose last number for a SKU of the run is not the channel's number now."""
        found = []
        for channel_id in self.world.channel_ids:
            now = await client.call(
                "GetChannelStock",
                client.channels.GetChannelStock,
                cpb.GetChannelStockRequest(channel_id=channel_id, skus=run.skus),
            )
            for item in now.items:
                for replica in self.stack.replicas["channels"]:
                    got = self.latest.get((replica, channel_id), {}).get(item.sku)
                    if got is None or got[1] != item.sellable:
                        found.append(
                            f"watcher on {replica} for {channel_id}/{item.sku}: "
                            f"{'nothing' if got is None else got[1]}, the channel says {item.sellable}"
                        )
        return found


async def jetstream_waiting_for(stack: FaultStack, dead: int, orders_seq_at_loss: int) -> str | None:
    """What JetStream has not yet recovered after losing node `dead` (None once recovered): every stream and
    durable consumer has a leader that is not the dead node, and orders' stream has taken events since the loss."""
    cluster = stack.nats
    urls = [n.url for i, n in enumerate(cluster.nodes) if i != dead]  # type: ignore[union-attr]
    dead_name = cluster.nodes[dead].server_name  # type: ignore[union-attr]
    try:
        nc, js = await _js(urls)
    except Exception as e:
        return f"no connection to the surviving nodes: {e!r}"
    try:
        for stream in [*STREAMS.values(), DLQ_STREAM]:
            info = await js.stream_info(stream)
            leader = info.cluster.leader if info.cluster else None
            if leader in (None, dead_name):
                return f"stream {stream} led by {leader}"
            if stream == STREAMS["orders"] and info.state.last_seq <= orders_seq_at_loss:
                return f"stream {stream} at {info.state.last_seq}, no event since the loss"
            for consumer in await js.consumers_info(stream):
                if not consumer.config.durable_name:
                    continue  # a reader's ephemeral consumer lives and dies with its node
                leader = consumer.cluster.leader if consumer.cluster else None
                if leader in (None, dead_name):
                    return f"consumer {stream}/{consumer.name} led by {leader}"
        return None
    except Exception as e:
        return f"JetStream API: {e!r}"
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def leader_of(stack: FaultStack, stream: str) -> int:
    """The index of the node leading `stream`."""
    nc, js = await _js(server_urls(stack.nats.url))
    try:
        info = await js.stream_info(stream)
    finally:
        await nc.close()
    names = [n.server_name for n in stack.nats.nodes]  # type: ignore[union-attr]
    assert info.cluster is not None and info.cluster.leader in names, info.cluster
    return names.index(info.cluster.leader)
