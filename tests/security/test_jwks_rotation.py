"""RS256 key rotation through a JWKS document, against running orders and inventory (issue 9, item 7).

The services verify every token by its `kid` against a JWKS file and sign their own service tokens with
one of its keys, so service-to-service calls (orders -> inventory on PlaceOrder) keep working. Retiring a
key from the document refuses its tokens from the next call on, without a restart."""

from __future__ import annotations

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_runtime.auth import mint_token
from onepool_runtime.settings import ServiceSettings

from tests.security.test_tokens import _rsa_files, _write_jwks
from tests.support.orders import World, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def keys(tmp_path_factory):  # type: ignore[no-untyped-def]
    """kid -> (private key file, public key file), and the JWKS file listing both."""
    root = tmp_path_factory.mktemp("jwks")
    pairs = {}
    for kid in ("service-key", "client-key"):
        folder = root / kid
        folder.mkdir()
        pairs[kid] = _rsa_files(folder)
    jwks = root / "jwks.json"
    _write_jwks(jwks, {kid: public for kid, (_, public) in pairs.items()})
    return pairs, jwks


def _bearer(private: str, kid: str, role: str = "admin") -> tuple[tuple[str, str], ...]:
    token = mint_token(ServiceSettings(jwt_private_key_file=private, jwt_key_id=kid), role)
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture(scope="module")
async def world(stack, keys) -> World:  # type: ignore[no-untyped-def]
    pairs, jwks = keys
    private, _ = pairs["service-key"]
    await stack.start("inventory", "orders", jwt_jwks=str(jwks), jwt_private_key_file=private, jwt_key_id="service-key")
    client = _bearer(pairs["client-key"][0], "client-key")
    return World(stack.stub("inventory"), stack.stub("orders"), client, stack.nats_url)


async def test_tokens_of_either_listed_key_are_accepted_and_services_call_each_other(world: World, keys) -> None:  # type: ignore[no-untyped-def]
    pairs, _ = keys
    sku = uid("SKU")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    order = await world.place(channel, {sku: (1, 100)})  # orders -> inventory with its own service-key token
    assert order.reservation_id
    reply = await world.inventory.GetAvailability(
        ipb.GetAvailabilityRequest(skus=[sku]), metadata=_bearer(pairs["service-key"][0], "service-key")
    )
    assert reply.items[0].reserved == 1


async def test_a_retired_key_is_refused_from_the_next_call_on(world: World, keys) -> None:  # type: ignore[no-untyped-def]
    pairs, jwks = keys
    retired = _bearer(pairs["client-key"][0], "client-key")
    await world.inventory.ListLocations(ipb.ListLocationsRequest(), metadata=retired)

    _write_jwks(jwks, {"service-key": pairs["service-key"][1]})
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await world.inventory.ListLocations(ipb.ListLocationsRequest(), metadata=retired)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        still = _bearer(pairs["service-key"][0], "service-key")
        assert await world.inventory.ListLocations(ipb.ListLocationsRequest(), metadata=still) is not None
    finally:
        _write_jwks(jwks, {kid: public for kid, (_, public) in pairs.items()})


async def test_a_token_of_a_foreign_issuer_is_refused_even_with_a_listed_key(world: World, keys) -> None:  # type: ignore[no-untyped-def]
    pairs, _ = keys
    private, _ = pairs["client-key"]
    evil = mint_token(
        ServiceSettings(jwt_private_key_file=private, jwt_key_id="client-key", jwt_issuer="evil-issuer"), "admin"
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.inventory.ListLocations(ipb.ListLocationsRequest(), metadata=(("authorization", f"Bearer {evil}"),))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
