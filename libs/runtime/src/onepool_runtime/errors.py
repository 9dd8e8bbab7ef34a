"""The domain errors, re-exported from the kernel so the edges (the call pipeline, adapters, servicers) keep one import.

Defined in `onepool_kernel.errors`: domain code imports them from there, never from the runtime.
"""

from __future__ import annotations

from onepool_kernel.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InsufficientStock,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Shortage,
    Unauthenticated,
    Unavailable,
    Violations,
    found,
)

__all__ = [
    "AlreadyExists",
    "Conflict",
    "DomainError",
    "FailedPrecondition",
    "FieldViolation",
    "InsufficientStock",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "Shortage",
    "Unauthenticated",
    "Unavailable",
    "Violations",
    "found",
]
