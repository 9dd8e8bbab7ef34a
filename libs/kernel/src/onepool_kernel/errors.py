"""Domain errors shared by every service.

Pure Python on purpose: domain code raises these without importing gRPC. Exactly one place
(`onepool_runtime.grpc_errors`, applied by the call pipeline) turns them into gRPC status codes with rich details;
`onepool_runtime.errors` re-exports this module for the edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class DomainError(Exception):
    """Base for every error a caller can cause. Anything else escaping a handler is a bug (INTERNAL)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class InvalidArgument(DomainError):
    """Bad input; names every offending field (google.rpc.BadRequest). `reason`, when set, also names what the
    violations have in common (google.rpc.ErrorInfo), for a caller that acts on the cause rather than on
    field paths, which can be refused for more than one cause."""

    def __init__(
        self, violations: list[FieldViolation] | FieldViolation | str, description: str = "", *, reason: str = ""
    ) -> None:
        if isinstance(violations, str):
            violations = [FieldViolation(violations, description)]
        elif isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = list(violations)
        self.reason = reason
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(f"invalid argument: {summary}")


class NotFound(DomainError):
    def __init__(self, kind: str, ident: str) -> None:
        self.kind, self.ident = kind, ident
        super().__init__(f"{kind} {ident!r} not found")


def found(value: T | None, kind: str, ident: str) -> T:
    """`value`, or NotFound(kind, ident) when it is None: how every use case answers a look-up by id
    (`return found(await uow.transfers.get(transfer_id), "transfer", transfer_id)`)."""
    if value is None:
        raise NotFound(kind, ident)
    return value


class AlreadyExists(DomainError):
    """`ident` is the existing resource's name alone (google.rpc.ResourceInfo.resource_name, which a client
    may look it up by); how it clashes with the request goes in `description` (ResourceInfo.description, and
    the message). `reason` and `metadata`, when set, also go out as google.rpc.ErrorInfo, for a caller that acts
    on what clashed without parsing the description."""

    def __init__(
        self, kind: str, ident: str, *, description: str = "", reason: str = "", metadata: dict[str, str] | None = None
    ) -> None:
        self.kind, self.ident, self.description = kind, ident, description
        self.reason, self.metadata = reason, metadata or {}
        super().__init__(f"{kind} {ident!r} already exists" + (f" ({description})" if description else ""))


class FailedPrecondition(DomainError):
    """The request is valid but the system is not in a state to accept it (wrong state, credit limit)."""

    def __init__(self, reason: str, message: str, metadata: dict[str, str] | None = None) -> None:
        self.reason = reason
        self.metadata = dict(metadata or {})
        super().__init__(message)


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int


class InsufficientStock(FailedPrecondition):
    """Not enough sellable stock: names every short SKU with what was asked and what is available."""

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = list(shortages)
        first = self.shortages[0]
        text = ", ".join(f"{s.sku}: requested {s.requested}, available {s.available}" for s in self.shortages)
        super().__init__(
            "INSUFFICIENT_STOCK",
            f"insufficient stock: {text}",
            {"sku": first.sku, "requested": str(first.requested), "available": str(first.available)},
        )


class Conflict(DomainError):
    """A concurrent change won; the caller may retry (ABORTED)."""


class Unauthenticated(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class Unavailable(DomainError):
    """A dependency (another service) is unreachable; safe to retry."""


@dataclass
class Violations:
    """Collects field violations so a request reports every problem at once, not just the first."""

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, field_path: str, description: str) -> None:
        self.items.append(FieldViolation(field_path, description))

    def check(self, condition: bool, field_path: str, description: str) -> None:
        if not condition:
            self.add(field_path, description)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)
