"""Who may call which SettlementService RPC, and whose ledger a caller may read.

Fail closed twice: an RPC missing from the table is refused to everyone but admin (the runtime's
interceptor), and `require_party` refuses any role it does not know. A dealer token reads only
`dealer:<its id>`, a channel token only `channel:<its id>`; admin and service read every party.
"""

from onepool_kernel.roles import CHANNEL, DEALER, PRIVILEGED
from onepool_runtime.auth import current_principal, policy
from onepool_runtime.errors import PermissionDenied

PARTIES = (*PRIVILEGED, DEALER, CHANNEL)
POLICY = policy(
    "onepool.settlement.v1.SettlementService",
    {
        "GetBalance": PARTIES,
        "ListEntries": PARTIES,
        "GenerateStatement": PARTIES,
        "GetStatement": PARTIES,
        "Reconcile": PRIVILEGED,
    },
)


def require_party(party: str) -> None:
    """The caller may read `party`'s ledger ("" means every party, which only privileged callers may)."""
    p = current_principal()
    if p.is_privileged:
        return
    if p.role == DEALER and party == f"dealer:{p.dealer_id}":
        return
    if p.role == CHANNEL and party == f"channel:{p.channel_id}":
        return
    raise PermissionDenied(f"a {p.role} token may only read its own party's ledger")
