"""Who may call which OrderService RPC (fail closed: an RPC missing here is admin-only). What each role may
touch within an RPC (its own channel, dealer or location) is scope.py."""

from onepool_kernel.roles import CHANNEL, DEALER, PRIVILEGED, STORE
from onepool_runtime.auth import policy

POLICY = policy(
    "onepool.orders.v1.OrderService",
    {
        "PlaceOrder": (*PRIVILEGED, CHANNEL, DEALER),
        "GetOrder": (*PRIVILEGED, CHANNEL, DEALER, STORE),
        "ListOrders": (*PRIVILEGED, CHANNEL, DEALER, STORE),
        "PayOrder": (*PRIVILEGED, CHANNEL, DEALER),
        "CancelOrder": (*PRIVILEGED, CHANNEL, DEALER),
        "ChangeDeliveryAddress": (*PRIVILEGED, CHANNEL, DEALER),
        "RepriceOrder": (*PRIVILEGED, CHANNEL, DEALER),
        "ShipFulfillment": (*PRIVILEGED, DEALER, STORE),
        "ConfirmPickup": (*PRIVILEGED, DEALER, STORE),
        "CompleteOrder": (*PRIVILEGED, CHANNEL, DEALER),
        "ReturnItems": (*PRIVILEGED, CHANNEL, DEALER, STORE),
        # No STORE: a counter takes goods back (ReturnItems); money back without them is the seller's call.
        "RefundOrder": (*PRIVILEGED, CHANNEL, DEALER),
    },
)
