"""Ports for servers started later (a test stack's services, embedded PostgreSQL and NATS) are free, distinct, and
outside the kernel's ephemeral range, which outgoing connections draw their local ports from."""

from __future__ import annotations

import socket
from pathlib import Path

from onepool_runtime.embedded import free_port


def _ephemeral() -> range:
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def test_ports_are_never_in_the_ephemeral_range_nor_handed_out_twice() -> None:
    """From the ephemeral range, an outgoing connection made meanwhile could take the port first (a CI run's
    settlement then failed to bind the port its stack gave it)."""
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert not [p for p in ports if p in _ephemeral()]


def test_a_port_handed_out_is_free_to_bind() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))
        s.listen()
