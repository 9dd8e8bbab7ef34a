"""Who may call which ChannelService RPC. Scoping (a channel token sees only its own channel, a dealer token
only its own dealer's channels) is applied by the servicer from the caller's token (scope.py).

Fail closed: an RPC missing here is refused to everyone but admin by the runtime's call pipeline.
"""

from onepool_kernel.roles import CHANNEL, DEALER, PRIVILEGED
from onepool_runtime.auth import policy

READERS = (*PRIVILEGED, CHANNEL, DEALER)
POLICY = policy(
    "onepool.channels.v1.ChannelService",
    {
        "CreateChannel": PRIVILEGED,
        "UpdateChannel": PRIVILEGED,
        "UpsertListing": PRIVILEGED,
        "GetChannel": READERS,
        "ListChannels": READERS,
        "ListListings": READERS,
        "GetChannelStock": READERS,
        "WatchChannelStock": READERS,
        "ImportOrder": (*PRIVILEGED, CHANNEL),
    },
)
