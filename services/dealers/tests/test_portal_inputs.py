"""What the dealer portal's developer met following the docs literally (audit P): a page token the list never
issued read as a first page, and an overview period refused on a field the caller never sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool_runtime.testing.services import field_violations
from onepool_runtime.validation import encode_page_token

pytestmark = pytest.mark.asyncio

FORGED = "eyJ4IjoxfQ"  # base64 of {"x":1}, as the audit sent it
# Not what either list issues: a forged one, each list's token given to the other, cursors without a position.
NOT_REPLENISHMENTS = [FORGED, encode_page_token({"after": ["Dealer", "d-1"]}), encode_page_token({"before": None})]
NOT_DEALERS = [FORGED, encode_page_token({"before": 3}), encode_page_token({"after": None})]


async def _refused(call, request, admin) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=admin)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    return field_violations(caught.value)


async def test_a_page_token_the_list_never_issued_is_invalid_argument(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    dealer, store, warehouse = await setup.ready(**{"SKU-TOK": 10})
    placed = []
    for _ in range(2):
        request = setup.place_request(dealer.id, warehouse, store, **{"SKU-TOK": 1})
        placed.append((await dealers.PlaceReplenishment(request, metadata=admin)).replenishment.id)
    for token in NOT_REPLENISHMENTS:
        request = pb.ListReplenishmentsRequest(dealer_id=dealer.id, page_token=token)
        assert await _refused(dealers.ListReplenishments, request, admin) == ["page_token"], token
    for token in NOT_DEALERS:
        request = pb.ListDealersRequest(region="CN-SH", page_token=token)
        assert await _refused(dealers.ListDealers, request, admin) == ["page_token"], token

    # What the lists issue still pages, and a token of the oldest-first order ListReplenishments once had
    # starts again from the newest, as it always did.
    first = await dealers.ListReplenishments(
        pb.ListReplenishmentsRequest(dealer_id=dealer.id, page_size=1), metadata=admin
    )
    rest = await dealers.ListReplenishments(
        pb.ListReplenishmentsRequest(dealer_id=dealer.id, page_token=first.next_page_token), metadata=admin
    )
    assert [r.id for r in (*first.replenishments, *rest.replenishments)] == placed[::-1]
    old = await dealers.ListReplenishments(
        pb.ListReplenishmentsRequest(dealer_id=dealer.id, page_token=encode_page_token({"after": 1})), metadata=admin
    )
    assert [r.id for r in old.replenishments] == placed[::-1]


async def test_a_period_start_alone_in_the_future_names_period_start(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    dealer = await setup.dealer()
    request = pb.GetDealerOverviewRequest(dealer_id=dealer.id)
    request.period_start.FromDatetime(datetime.now(UTC) + timedelta(days=1))
    assert await _refused(dealers.GetDealerOverview, request, admin) == ["period_start"]
    # Both sent, the wrong way round: the end is the one to move.
    request.period_end.FromDatetime(datetime.now(UTC))
    assert await _refused(dealers.GetDealerOverview, request, admin) == ["period_end"]
