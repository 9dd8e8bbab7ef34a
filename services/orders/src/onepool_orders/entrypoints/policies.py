"""Who may call which OrderService RPC."""

from onepool_runtime.auth import policy

ADMIN = ("admin", "service")
POLICY = policy("onepool.orders.v1.OrderService", {})
