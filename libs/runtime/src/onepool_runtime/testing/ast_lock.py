"""One `ast.parse` at a time in a test process.

CPython 3.11 keeps the AST converter's recursion counter in interpreter-wide state (fixed in 3.12, never
back-ported: python/cpython#106905). When two threads parse at once and a garbage collection runs Python code
mid-conversion, the interpreter can switch threads and the counters cross: `SystemError: AST constructor
recursion depth mismatch`. Tests do exactly that: Hypothesis runs a state machine on a worker thread and parses
module sources for constants and lambda descriptions, while the event loop's thread imports (pytest's assertion
rewriting parses) and pydantic reads signatures (inspect parses). The services themselves never parse on two
threads, so only the test process needs this.
"""

from __future__ import annotations

import ast
import functools
import threading
from typing import Any

_lock = threading.RLock()


def install() -> None:
    """Wrap `ast.parse` (looked up at call time by inspect, pytest and Hypothesis) in a process-wide lock."""
    if getattr(ast.parse, "_onepool_locked", False):
        return
    parse = ast.parse

    @functools.wraps(parse)
    def locked_parse(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return parse(*args, **kwargs)

    locked_parse._onepool_locked = True  # type: ignore[attr-defined]
    ast.parse = locked_parse  # type: ignore[assignment]
