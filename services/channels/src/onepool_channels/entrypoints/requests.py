"""Proto requests -> validated commands. Every violation is reported with its field path."""

from __future__ import annotations

from onepool.channels.v1 import channels_pb2 as pb
from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule, PresaleTerms
from onepool_runtime.errors import Violations
from onepool_runtime.protobuf import CATALOGUES_BACK, LOCATION_TYPES_BACK
from onepool_runtime.validation import (
    MAX_LINES,
    check_currency,
    check_id,
    check_sku,
    check_text,
    page_after_key,
    page_after_pair,
    page_size,
)

from onepool_channels.adapters import formats
from onepool_channels.adapters.mappers import (
    CHANNEL_STATUSES_BACK,
    CHANNEL_TYPES_BACK,
    DEPOSIT_RULES_BACK,
    OWN_STOCK_RULES_BACK,
)
from onepool_channels.domain import commands
from onepool_channels.domain.imports import FORMATS, MAX_FIELD_AMOUNT_MINOR, ImportedOrder
from onepool_channels.domain.model import (
    DEFAULT_IMPORT_PAYMENT_TTL_SECONDS,
    DEFAULT_RETURN_WINDOW_DAYS,
    IMPORT_TTL_RANGE,
    MAX_IMPORT_PAYMENT_TTL_SECONDS,
    MAX_RETURN_WINDOW_DAYS,
    MIN_IMPORT_PAYMENT_TTL_SECONDS,
    AllocationPolicy,
    Catalogue,
    ChannelType,
    Listing,
    OwnStockRule,
)

DEFAULT_CURRENCY = "CNY"
MAX_BPS = 10_000
MAX_BUFFER = 1_000_000
ALLOCATION_FIELDS = ("location_ids", "location_types", "max_share_bps", "buffer_units", "own_stock")
UPDATABLE = (
    "name",
    "fee_rate_bps",
    "allocation",
    "status",
    "catalogue",
    "presale",
    "return_window_days",
    "import_payment_ttl_seconds",
)
# A week of days: a longer balance deadline is a typing mistake, not a campaign.
MAX_BALANCE_DUE_SECONDS = 366 * 24 * 3600
IMMUTABLE = ("id", "code", "type", "owner_dealer_id", "currency", "created_at", "updated_at", "version")


def _allocation(v: Violations, a: pb.AllocationPolicy, path: str) -> AllocationPolicy:
    seen: set[str] = set()
    for i, loc in enumerate(a.location_ids):
        check_id(v, f"{path}.location_ids[{i}]", loc)
        if loc in seen:
            v.add(f"{path}.location_ids[{i}]", "appears twice")
        seen.add(loc)
    for i, t in enumerate(a.location_types):
        if t not in LOCATION_TYPES_BACK:
            v.add(f"{path}.location_types[{i}]", "must be WAREHOUSE, STORE, DEALER_WAREHOUSE or DEALER_STORE")
    if not 0 <= a.max_share_bps <= MAX_BPS:
        v.add(f"{path}.max_share_bps", "must be between 0 and 10000 (0 or 10000 means the whole pool)")
    if not 0 <= a.buffer_units <= MAX_BUFFER:
        v.add(f"{path}.buffer_units", f"must be between 0 and {MAX_BUFFER}")
    own_stock = OwnStockRule.WHOLE_ORDER
    if a.own_stock != pb.OWN_STOCK_RULE_UNSPECIFIED:
        known = OWN_STOCK_RULES_BACK.get(a.own_stock)
        if known is None:
            v.add(f"{path}.own_stock", "must be WHOLE_ORDER or FILL_FIRST")
        else:
            own_stock = known
    if v.items:
        return AllocationPolicy()
    return AllocationPolicy(
        location_ids=frozenset(a.location_ids),
        location_types=frozenset(LOCATION_TYPES_BACK[t] for t in a.location_types),
        max_share_bps=a.max_share_bps,
        buffer_units=a.buffer_units,
        own_stock=own_stock,
    )


def _catalogue(v: Violations, value: int, path: str) -> Catalogue:
    """UNSPECIFIED is the default, LISTINGS."""
    if value == pb.CATALOGUE_UNSPECIFIED:
        return Catalogue.LISTINGS
    known = CATALOGUES_BACK.get(value)
    if known is None:
        v.add(path, "must be LISTINGS or POOL")
        return Catalogue.LISTINGS
    return known


def _presale(v: Violations, p: pb.PresaleTerms, path: str) -> PresaleTerms:
    """Deposits and balances (docs/presale.md); UNSPECIFIED rule is REFUND."""
    ok = True
    if not 0 <= p.balance_due_seconds <= MAX_BALANCE_DUE_SECONDS:
        v.add(f"{path}.balance_due_seconds", f"must be between 0 (no deposits) and {MAX_BALANCE_DUE_SECONDS}")
        ok = False
    if not 0 <= p.min_deposit_bps < MAX_BPS:
        v.add(f"{path}.min_deposit_bps", "must be between 0 and 9999 basis points of the order total")
        ok = False
    rule = DepositRule.REFUND
    if p.deposit_rule != pb.DEPOSIT_RULE_UNSPECIFIED:
        known = DEPOSIT_RULES_BACK.get(p.deposit_rule)
        if known is None:
            v.add(f"{path}.deposit_rule", "must be REFUND or KEEP")
            ok = False
        else:
            rule = known
    return PresaleTerms(p.balance_due_seconds, p.min_deposit_bps, rule) if ok else PresaleTerms()


def _fee(v: Violations, value: int, path: str) -> None:
    if not 0 <= value <= MAX_BPS:
        v.add(path, "must be between 0 and 10000 basis points")


def _return_window(v: Violations, value: int, path: str) -> int:
    if value > MAX_RETURN_WINDOW_DAYS:
        v.add(path, f"must be between 0 and {MAX_RETURN_WINDOW_DAYS} days")
    return value


def _import_ttl(v: Violations, value: int, path: str) -> int:
    if not MIN_IMPORT_PAYMENT_TTL_SECONDS <= value <= MAX_IMPORT_PAYMENT_TTL_SECONDS:
        v.add(path, IMPORT_TTL_RANGE)
    return value


def create_channel(req: pb.CreateChannelRequest) -> commands.CreateChannel:
    v = Violations()
    check_id(v, "code", req.code)
    check_text(v, "name", req.name, max_len=200, required=True)
    type_ = CHANNEL_TYPES_BACK.get(req.type)
    if type_ is None:
        v.add("type", "must be ONLINE_STORE, MARKETPLACE, SOCIAL_COMMERCE, PHYSICAL_STORE or DEALER")
    check_id(v, "owner_dealer_id", req.owner_dealer_id, required=False)
    if type_ is ChannelType.DEALER and not req.owner_dealer_id:
        v.add("owner_dealer_id", "is required for DEALER channels")
    if type_ is not None and type_ is not ChannelType.DEALER and req.owner_dealer_id:
        v.add("owner_dealer_id", "must be empty unless the channel type is DEALER")
    _fee(v, req.fee_rate_bps, "fee_rate_bps")
    allocation = _allocation(v, req.allocation, "allocation")
    catalogue = _catalogue(v, req.catalogue, "catalogue")
    presale = _presale(v, req.presale, "presale")
    window = DEFAULT_RETURN_WINDOW_DAYS
    if req.HasField("return_window_days"):
        window = _return_window(v, req.return_window_days, "return_window_days")
    import_ttl = DEFAULT_IMPORT_PAYMENT_TTL_SECONDS
    if req.HasField("import_payment_ttl_seconds"):
        import_ttl = _import_ttl(v, req.import_payment_ttl_seconds, "import_payment_ttl_seconds")
    currency = req.currency or DEFAULT_CURRENCY
    check_currency(v, "currency", currency)
    if len(req.request_id) > 128:
        v.add("request_id", "must be at most 128 characters")
    v.raise_if_any()
    assert type_ is not None
    return commands.CreateChannel(
        code=req.code,
        name=req.name.strip(),
        type=type_,
        owner_dealer_id=req.owner_dealer_id,
        fee_rate_bps=req.fee_rate_bps,
        allocation=allocation,
        currency=currency,
        catalogue=catalogue,
        presale=presale,
        return_window_days=window,
        import_payment_ttl_seconds=import_ttl,
    )


def update_channel(req: pb.UpdateChannelRequest) -> commands.UpdateChannel:
    v = Violations()
    c = req.channel
    check_id(v, "channel.id", c.id)
    paths = list(req.update_mask.paths)
    explicit = bool(paths)
    if not explicit:
        paths = ["name", "fee_rate_bps", "allocation"]
        if c.status != pb.CHANNEL_STATUS_UNSPECIFIED:
            paths.append("status")
        if c.catalogue != pb.CATALOGUE_UNSPECIFIED:
            paths.append("catalogue")
        if c.HasField("presale"):
            paths.append("presale")
        if c.HasField("return_window_days"):
            paths.append("return_window_days")
        if c.HasField("import_payment_ttl_seconds"):
            paths.append("import_payment_ttl_seconds")
    fields: dict[str, object] = {}
    allocation_fields: list[str] = []
    for i, path in enumerate(paths):
        where = f"update_mask.paths[{i}]"
        head, _, sub = path.partition(".")
        if head in IMMUTABLE:
            v.add(where, f"{path} cannot be changed")
        elif head not in UPDATABLE or (sub and (head != "allocation" or sub not in ALLOCATION_FIELDS)):
            v.add(where, f"{path} is not an updatable field ({', '.join(UPDATABLE)})")
        elif head == "name":
            check_text(v, "channel.name", c.name, max_len=200, required=True)
            fields["name"] = c.name.strip()
        elif head == "fee_rate_bps":
            _fee(v, c.fee_rate_bps, "channel.fee_rate_bps")
            fields["fee_rate_bps"] = c.fee_rate_bps
        elif head == "status":
            status = CHANNEL_STATUSES_BACK.get(c.status)
            if status is None:
                v.add("channel.status", "must be ACTIVE or PAUSED")
            fields["status"] = status
        elif head == "catalogue":
            fields["catalogue"] = _catalogue(v, c.catalogue, "channel.catalogue")
        elif head == "presale":
            fields["presale"] = _presale(v, c.presale, "channel.presale")
        elif head == "return_window_days":
            # Named in a mask but unset: the default, as on create.
            days = c.return_window_days if c.HasField("return_window_days") else DEFAULT_RETURN_WINDOW_DAYS
            fields["return_window_days"] = _return_window(v, days, "channel.return_window_days")
        elif head == "import_payment_ttl_seconds":
            ttl = c.import_payment_ttl_seconds if c.HasField(head) else DEFAULT_IMPORT_PAYMENT_TTL_SECONDS
            fields[head] = _import_ttl(v, ttl, "channel.import_payment_ttl_seconds")
        elif sub:
            allocation_fields.append(sub)
        else:
            fields["allocation_whole"] = True
    allocation = None
    if "allocation_whole" in fields or allocation_fields:
        allocation = _allocation(v, c.allocation, "channel.allocation")
    if "allocation_whole" in fields:
        allocation_fields = []  # the whole policy replaces the stored one
    fields.pop("allocation_whole", None)
    v.raise_if_any()
    return commands.UpdateChannel(
        channel_id=c.id,
        expected_version=c.version,
        allocation=allocation,
        allocation_fields=tuple(dict.fromkeys(allocation_fields)),
        name=fields.get("name"),  # type: ignore[arg-type]
        fee_rate_bps=fields.get("fee_rate_bps"),  # type: ignore[arg-type]
        status=fields.get("status"),  # type: ignore[arg-type]
        catalogue=fields.get("catalogue"),  # type: ignore[arg-type]
        presale=fields.get("presale"),  # type: ignore[arg-type]
        return_window_days=fields.get("return_window_days"),  # type: ignore[arg-type]
        import_payment_ttl_seconds=fields.get("import_payment_ttl_seconds"),  # type: ignore[arg-type]
        unchanged=() if explicit else _sent_as_is(c),
    )


def _sent_as_is(c: pb.Channel) -> tuple[tuple[str, object], ...]:
    """The fields that never change which a request without a mask sets (left unset, they say nothing)."""
    sent: list[tuple[str, object]] = [
        (f, getattr(c, f)) for f in ("code", "currency", "owner_dealer_id") if getattr(c, f)
    ]
    if c.type in CHANNEL_TYPES_BACK:
        sent.append(("type", CHANNEL_TYPES_BACK[c.type]))
    return tuple(sent)


def channel_sku(v: Violations, path: str, value: str) -> None:
    if not value:
        v.add(path, "is required")
    elif len(value) > 128 or value != value.strip() or not value.isprintable():
        v.add(path, "must be 1-128 printable characters without surrounding spaces")


def upsert_listing(req: pb.UpsertListingRequest) -> commands.UpsertListing:
    v = Violations()
    check_id(v, "channel_id", req.channel_id)
    check_sku(v, "sku", req.sku)
    code = req.channel_sku or req.sku  # the contract's default: the channel sells it under the brand's SKU
    if req.channel_sku:
        channel_sku(v, "channel_sku", req.channel_sku)
    if not req.HasField("price"):
        v.add("price", "is required")
    else:
        check_currency(v, "price.currency", req.price.currency)
        if not 0 <= req.price.amount_minor <= MAX_FIELD_AMOUNT_MINOR:
            v.add("price.amount_minor", f"must be between 0 and {MAX_FIELD_AMOUNT_MINOR} minor units")
    if req.sales_cap_units < 0:
        v.add("sales_cap_units", "must not be negative (0 means no cap)")
    if req.presale_units < 0:
        v.add("presale_units", "must not be negative (0 means no presale)")
    v.raise_if_any()
    return commands.UpsertListing(
        Listing(
            req.channel_id,
            req.sku,
            code,
            Money(req.price.currency, req.price.amount_minor),
            req.active,
            sales_cap_units=req.sales_cap_units,
            presale_units=req.presale_units,
            allow_backorder=req.allow_backorder,
        )
    )


def channel_stock(req: pb.GetChannelStockRequest) -> tuple[str, list[str]]:
    v = Violations()
    check_id(v, "channel_id", req.channel_id)
    if len(req.skus) > MAX_LINES:
        v.add("skus", f"must have at most {MAX_LINES} entries")
    for i, sku in enumerate(req.skus):
        check_sku(v, f"skus[{i}]", sku)
    v.raise_if_any()
    return req.channel_id, list(req.skus)


def list_channels(req: pb.ListChannelsRequest) -> tuple[ChannelType | None, int, tuple[str, str] | None]:
    v = Violations()
    type_ = None
    if req.type != pb.CHANNEL_TYPE_UNSPECIFIED:
        type_ = CHANNEL_TYPES_BACK.get(req.type)
        if type_ is None:
            v.add("type", "is not a known channel type")
    check_id(v, "owner_dealer_id", req.owner_dealer_id, required=False)
    limit = page_size(v, req.page_size)
    v.raise_if_any()
    return type_, limit, page_after_pair(req.page_token)


def list_listings(req: pb.ListListingsRequest) -> tuple[str, int, str]:
    v = Violations()
    check_id(v, "channel_id", req.channel_id)
    limit = page_size(v, req.page_size)
    v.raise_if_any()
    return req.channel_id, limit, page_after_key(req.page_token)


def import_order(req: pb.ImportOrderRequest, max_payload_bytes: int) -> tuple[str, ImportedOrder]:
    """Validate the request and read the payload in its format; nothing is looked up yet."""
    v = Violations()
    check_id(v, "channel_id", req.channel_id)
    if req.format not in FORMATS:
        v.add("format", f"must be one of {', '.join(FORMATS)}")
    if not req.payload.strip():
        v.add("payload", "is required")
    elif len(req.payload.encode()) > max_payload_bytes:
        v.add("payload", f"must be at most {max_payload_bytes} bytes")
    v.raise_if_any()
    return req.channel_id, formats.parse(req.format, req.payload)
