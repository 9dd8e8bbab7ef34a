"""Who may call which DealerService RPC."""

from onepool_runtime.auth import policy

ADMIN = ("admin", "service")
POLICY = policy("onepool.dealers.v1.DealerService", {})
