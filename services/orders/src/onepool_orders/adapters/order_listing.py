"""ListOrders' statement: a page of order ids, newest first by (created_at, id), read as ranges of indexes.

A dealer's orders are those it sells (`orders.dealer_id`) or that a fulfillment it owns carries; written as one
`dealer_id = X OR EXISTS (...)`, no index answers the OR, and PostgreSQL walked `orders_by_created` backwards
through every order ever placed, filtering each (a dealer with no orders: all of them). The page is instead
the union of two keyset-ordered paths, each limited to the page: `orders_by_dealer`, and the dealer's
fulfillments in their order's keyset order (`fulfillments_by_owner`, on `order_created_at`, the order's
created_at copied onto each fulfillment, migration 0015). A location's orders are the second path alone, on
`fulfillments_by_location`. Each path reads no further than the page (and the rows the other filters skip).

Filtered by a status, a path reads as far as the page's matches: the last page of 30 paid orders would read the
whole history. So a status in flight (orders migration 0020) narrows each path to what can match, by the
domain's `FULFILLMENTS_WHILE`: the orders in flight (`orders_in_flight`, `orders_in_flight_by_dealer`); for a
status before anything left, the fulfillments still to leave (`fulfillments_to_leave_by_*`); for FULFILLING, whose
dealer's or location's fulfillment may have left, the brand's FULFILLING orders (few) that have one. A status
before any stock is held (PENDING, REJECTED) has no fulfillments to list. The status is written as a literal:
a generic plan uses a partial index only when the statement's text implies its predicate.
"""

from __future__ import annotations

from typing import Any

from onepool_kernel.timestamps import from_iso
from onepool_runtime.columns import core_tables
from sqlalchemy import ColumnElement, Select, exists, false, literal_column, select, tuple_, union
from sqlalchemy.sql.expression import FromClause

from onepool_orders.adapters.orm import FulfillmentRow, OrderRow
from onepool_orders.domain.commands import ListOrders
from onepool_orders.domain.model import FULFILLMENTS_WHILE, IN_FLIGHT_STATES, FulfillmentStatus

_ORDERS, _FULFILLMENTS = core_tables(OrderRow, FulfillmentRow)


def _older(created: ColumnElement[Any], order_id: ColumnElement[Any], query: ListOrders) -> list[ColumnElement[bool]]:
    if query.after is None:
        return []
    at, last = query.after
    return [tuple_(created, order_id) < tuple_(from_iso(at), last)]


def _order_filters(orders: FromClause, query: ListOrders) -> list[ColumnElement[bool]]:
    c = orders.c
    found: list[ColumnElement[bool]] = []
    if query.channel_id:
        found.append(c.channel_id == query.channel_id)
    if query.external_order_id:
        found.append(c.external_order_id == query.external_order_id)
    if query.customer_id:
        found.append(c.customer_id == query.customer_id)
    if query.status is not None:
        found.append(c.status == literal_column(f"'{query.status.value}'"))
    return found


def _at_location(order_id: ColumnElement[Any], query: ListOrders) -> list[ColumnElement[bool]]:
    if not query.location_id:
        return []
    at = _FULFILLMENTS.alias("at_location")
    return [exists().where(at.c.order_id == order_id, at.c.location_id == query.location_id)]


def _via_fulfillments(condition: str, value: str, query: ListOrders) -> Select[Any]:
    """The orders with a fulfillment whose `condition` column is `value`, a page of them in keyset order."""
    held = FULFILLMENTS_WHILE[query.status] if query.status is not None else None
    if held is not None and not held:
        return select(_ORDERS.c.created_at, _ORDERS.c.id).where(false())
    to_leave = held == {FulfillmentStatus.PENDING}
    if query.status in IN_FLIGHT_STATES and not to_leave:
        return _in_flight_with(condition, value, query)
    f = _FULFILLMENTS.alias("f")
    o = _ORDERS.alias("o")
    filters = _order_filters(o, query)
    # The same order's fulfillments are one row (DISTINCT: the page counts orders, not fulfillments); the order
    # row is joined only when a filter reads it.
    stmt = select(f.c.order_created_at.label("created_at"), f.c.order_id.label("id")).distinct()
    if filters:
        stmt = stmt.select_from(f.join(o, o.c.id == f.c.order_id)).where(*filters)
    if to_leave:
        stmt = stmt.where(f.c.status == literal_column(f"'{FulfillmentStatus.PENDING}'"))  # orm.TO_LEAVE
    if condition != "location_id":
        stmt = stmt.where(*_at_location(f.c.order_id, query))
    return (
        stmt.where(f.c[condition] == value, *_older(f.c.order_created_at, f.c.order_id, query))
        .order_by(f.c.order_created_at.desc(), f.c.order_id.desc())
        .limit(query.limit)
    )


def _in_flight_with(condition: str, value: str, query: ListOrders) -> Select[Any]:
    """The orders in the (in-flight) status with a fulfillment whose `condition` column is `value`."""
    f = _FULFILLMENTS.alias("f")
    mine = exists().where(f.c.order_id == _ORDERS.c.id, f.c[condition] == value)
    there = _at_location(_ORDERS.c.id, query) if condition != "location_id" else []
    return (
        select(_ORDERS.c.created_at, _ORDERS.c.id)
        .where(
            mine,
            *_order_filters(_ORDERS, query),
            *there,
            *_older(_ORDERS.c.created_at, _ORDERS.c.id, query),
        )
        .order_by(_ORDERS.c.created_at.desc(), _ORDERS.c.id.desc())
        .limit(query.limit)
    )


def list_query(query: ListOrders) -> Select[Any]:
    """The ids of ListOrders' page, newest first."""
    if not query.dealer_id and not query.location_id:
        stmt = select(_ORDERS.c.id).where(
            *_order_filters(_ORDERS, query),
            *_older(_ORDERS.c.created_at, _ORDERS.c.id, query),
        )
        return stmt.order_by(_ORDERS.c.created_at.desc(), _ORDERS.c.id.desc()).limit(query.limit)
    if query.dealer_id:
        # A dealer listing a location: its own orders there (the location a filter on each path), never a walk
        # of that location's whole history, which may be another's.
        sold = (
            select(_ORDERS.c.created_at, _ORDERS.c.id)
            .where(
                _ORDERS.c.dealer_id == query.dealer_id,
                *_order_filters(_ORDERS, query),
                *_at_location(_ORDERS.c.id, query),
                *_older(_ORDERS.c.created_at, _ORDERS.c.id, query),
            )
            .order_by(_ORDERS.c.created_at.desc(), _ORDERS.c.id.desc())
            .limit(query.limit)
        )
        fulfilled = _via_fulfillments("owner_dealer_id", query.dealer_id, query)
        page = union(sold, fulfilled).subquery("page")
    else:
        page = _via_fulfillments("location_id", query.location_id, query).subquery("page")
    return select(page.c.id).order_by(page.c.created_at.desc(), page.c.id.desc()).limit(query.limit)
