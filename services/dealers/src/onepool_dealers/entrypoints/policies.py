"""Who may call which DealerService RPC. Fail closed: an RPC missing here is refused to all but admin.

A dealer token may call the RPCs that name its own business; the servicer then checks, from the token,
that every dealer id (or the dealer of a replenishment) is its own (entrypoints/scope.py). The brand (admin,
or another service) registers and changes dealers, adds dealer locations (a location joins the pool every
channel sells from, so the brand decides), sets prices and ships."""

from onepool_kernel.roles import DEALER, PRIVILEGED
from onepool_runtime.auth import policy

DEALER_OR_BRAND = (*PRIVILEGED, DEALER)
POLICY = policy(
    "onepool.dealers.v1.DealerService",
    {
        "RegisterDealer": PRIVILEGED,
        "GetDealer": DEALER_OR_BRAND,
        "ListDealers": DEALER_OR_BRAND,
        "UpdateDealer": PRIVILEGED,
        "AddDealerLocation": PRIVILEGED,
        "SetWholesalePrice": PRIVILEGED,
        "PlaceReplenishment": DEALER_OR_BRAND,
        "GetReplenishment": DEALER_OR_BRAND,
        "ListReplenishments": DEALER_OR_BRAND,
        "ShipReplenishment": PRIVILEGED,
        "ReceiveReplenishment": DEALER_OR_BRAND,
        "RejectReplenishment": DEALER_OR_BRAND,
        "GetDealerOverview": DEALER_OR_BRAND,
    },
)
