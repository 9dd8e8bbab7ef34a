"""Who may call which SettlementService RPC, and whose ledger a caller may read.

Fail closed twice: an RPC missing from the table is refused to everyone but admin (the runtime's
call pipeline), and `require_party` refuses any role it does not know. A dealer token reads only
`dealer:<its id>`, a channel token only `channel:<its id>`; admin and service read every party.

Money that moves (RecordPayment, CreatePayout), valuing goods that moved unpriced (SettleUnpricedMove) and
closing the books (ClosePeriod) are the brand's finance acts: admin and service only. A dealer cannot record its
own payment (the brand confirms it received it); it reads its payouts and exports its statements.
"""

from onepool_kernel.roles import CHANNEL, DEALER, PRIVILEGED
from onepool_runtime.auth import Principal, current_principal, policy
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
        "RecordPayment": PRIVILEGED,
        "CreatePayout": PRIVILEGED,
        "GetPayout": PARTIES,
        "ListPayouts": PARTIES,
        "ClosePeriod": PRIVILEGED,
        "ListPeriods": PARTIES,
        "ExportStatement": PARTIES,
        "SettleUnpricedMove": PRIVILEGED,
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


def listed_party(party: str) -> str:
    """The party a list reads: `party`, if the caller may read it; a scoped caller that names none reads its own
    (as every list narrows a dealer or channel token to its own rows), a privileged one every party."""
    party = party or own_party()
    require_party(party)
    return party


def own_party(p: Principal | None = None) -> str:
    """The party a scoped token stands for ("" for privileged callers)."""
    p = p or current_principal()
    if p.role == DEALER:
        return f"dealer:{p.dealer_id}"
    if p.role == CHANNEL:
        return f"channel:{p.channel_id}"
    return ""
