"""Who may call which SettlementService RPC."""

from onepool_runtime.auth import policy

ADMIN = ("admin", "service")
POLICY = policy("onepool.settlement.v1.SettlementService", {})
