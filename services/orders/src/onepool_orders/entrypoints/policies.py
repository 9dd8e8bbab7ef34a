"""Who may call which OrderService RPC (fail closed: an RPC missing here is admin-only). What each role may
touch within an RPC (its own channel, dealer or location) is scope.py."""

from onepool_runtime.auth import policy

ADMIN = ("admin", "service")
POLICY = policy(
    "onepool.orders.v1.OrderService",
    {
        "PlaceOrder": (*ADMIN, "channel", "dealer"),
        "GetOrder": (*ADMIN, "channel", "dealer", "store"),
        "ListOrders": (*ADMIN, "channel", "dealer", "store"),
        "PayOrder": (*ADMIN, "channel", "dealer"),
        "CancelOrder": (*ADMIN, "channel", "dealer"),
        "ShipFulfillment": (*ADMIN, "dealer", "store"),
        "ConfirmPickup": (*ADMIN, "dealer", "store"),
        "CompleteOrder": (*ADMIN, "channel", "dealer"),
        "ReturnItems": (*ADMIN, "channel", "store"),
    },
)
