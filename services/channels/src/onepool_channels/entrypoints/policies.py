"""Who may call which ChannelService RPC."""

from onepool_runtime.auth import policy

ADMIN = ("admin", "service")
POLICY = policy("onepool.channels.v1.ChannelService", {})
