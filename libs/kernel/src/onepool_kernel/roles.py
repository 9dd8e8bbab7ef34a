"""The roles a caller's token may carry. Authorization tables and tenant scoping are written in these names."""

from __future__ import annotations

ADMIN = "admin"
SERVICE = "service"  # another OnePool service, or the system itself
CHANNEL = "channel"  # bound to one channel id
DEALER = "dealer"  # bound to one dealer id
STORE = "store"  # bound to one location id

ROLES = (ADMIN, SERVICE, CHANNEL, DEALER, STORE)
PRIVILEGED = (ADMIN, SERVICE)  # the brand: may act for any channel, dealer or location
