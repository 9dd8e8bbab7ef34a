"""Who may call which InventoryService RPC. Scoping (a dealer's own locations, a channel's own view) is
applied by the servicer from the caller's token."""

from onepool_runtime.auth import policy

ADMIN = ("admin", "service")
POLICY = policy(
    "onepool.inventory.v1.InventoryService",
    {
        "UpsertLocation": ADMIN,
        "ListLocations": (*ADMIN, "dealer", "store", "channel"),
        "ReceiveStock": (*ADMIN, "dealer", "store"),
        "AdjustStock": (*ADMIN, "dealer", "store"),
        "SetSafetyStock": ADMIN,
        "GetAvailability": (*ADMIN, "channel", "dealer", "store"),
        "Reserve": (*ADMIN, "channel"),
        "GetReservation": ADMIN,
        "CommitReservation": ADMIN,
        "ReleaseReservation": ADMIN,
        "FulfillReservation": ADMIN,
        "TransferStock": ADMIN,
        "ReceiveTransfer": (*ADMIN, "dealer", "store"),
        "GetTransfer": (*ADMIN, "dealer", "store"),
        "ListMovements": (*ADMIN, "dealer", "store"),
    },
)
