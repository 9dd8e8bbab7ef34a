"""Who may call which InventoryService RPC. Scoping (a dealer's own locations, a channel's own view) is
applied by the servicer from the caller's token."""

from onepool_kernel.roles import CHANNEL, DEALER, PRIVILEGED, STORE
from onepool_runtime.auth import policy

POLICY = policy(
    "onepool.inventory.v1.InventoryService",
    {
        "UpsertLocation": PRIVILEGED,
        "ListLocations": (*PRIVILEGED, DEALER, STORE, CHANNEL),
        "ReceiveStock": (*PRIVILEGED, DEALER, STORE),
        "AdjustStock": (*PRIVILEGED, DEALER, STORE),
        "SetSafetyStock": PRIVILEGED,
        "GetAvailability": (*PRIVILEGED, CHANNEL, DEALER, STORE),
        "Reserve": (*PRIVILEGED, CHANNEL),
        "GetReservation": PRIVILEGED,
        "CommitReservation": PRIVILEGED,
        "ReleaseReservation": PRIVILEGED,
        "FulfillReservation": PRIVILEGED,
        "TransferStock": PRIVILEGED,
        "ReceiveTransfer": (*PRIVILEGED, DEALER, STORE),
        "GetTransfer": (*PRIVILEGED, DEALER, STORE),
        "ListMovements": (*PRIVILEGED, DEALER, STORE),
        # Dedicated stock: the brand for any channel; a dealer for its own channel at its own locations.
        "CreateChannelAllocation": (*PRIVILEGED, DEALER),
        "ReleaseChannelAllocation": (*PRIVILEGED, DEALER),
        "ListChannelAllocations": (*PRIVILEGED, DEALER, CHANNEL),
        # Rebuilding read models (channels); a dealer or store lists its own locations' levels (its portal).
        "ListStockLevels": (*PRIVILEGED, DEALER, STORE),
        # Expected receipts: the brand's purchasing, or a dealer for its own locations.
        "ExpectReceipt": (*PRIVILEGED, DEALER),
        "CancelExpectedReceipt": (*PRIVILEGED, DEALER),
        "RescheduleExpectedReceipt": (*PRIVILEGED, DEALER),
        "GetExpectedReceipt": (*PRIVILEGED, DEALER, STORE),
        "ListExpectedReceipts": (*PRIVILEGED, DEALER, STORE),
    },
)
