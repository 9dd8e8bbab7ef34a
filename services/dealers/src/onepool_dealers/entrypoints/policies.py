"""Who may call which DealerService RPC. Fail closed: an RPC missing here is refused to all but admin.

A dealer token may call the RPCs that name its own business; the servicer then checks, from the token,
that every dealer id (or the dealer of a replenishment) is its own (entrypoints/scope.py). The brand (admin,
or another service) registers and changes dealers, adds dealer locations (a location joins the pool every
channel sells from, so the brand decides), sets prices and ships."""

from onepool_runtime.auth import policy

ADMIN = ("admin", "service")
DEALER = (*ADMIN, "dealer")
POLICY = policy(
    "onepool.dealers.v1.DealerService",
    {
        "RegisterDealer": ADMIN,
        "GetDealer": DEALER,
        "ListDealers": DEALER,
        "UpdateDealer": ADMIN,
        "AddDealerLocation": ADMIN,
        "SetWholesalePrice": ADMIN,
        "PlaceReplenishment": DEALER,
        "GetReplenishment": DEALER,
        "ListReplenishments": DEALER,
        "ShipReplenishment": ADMIN,
        "ReceiveReplenishment": DEALER,
        "RejectReplenishment": DEALER,
        "GetDealerOverview": DEALER,
    },
)
