"""Who may call which ChannelService RPC. Scoping (a channel token sees only its own channel, a dealer token
only its own dealer's channels) is applied by the servicer from the caller's token (scope.py).

Fail closed: an RPC missing here is refused to everyone but admin by the runtime's interceptor.
"""

from onepool_runtime.auth import policy

ADMIN = ("admin", "service")
READERS = (*ADMIN, "channel", "dealer")
POLICY = policy(
    "onepool.channels.v1.ChannelService",
    {
        "CreateChannel": ADMIN,
        "UpdateChannel": ADMIN,
        "UpsertListing": ADMIN,
        "GetChannel": READERS,
        "ListChannels": READERS,
        "ListListings": READERS,
        "GetChannelStock": READERS,
        "WatchChannelStock": READERS,
        "ImportOrder": (*ADMIN, "channel"),
    },
)
