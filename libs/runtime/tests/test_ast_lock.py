"""The test process's `ast.parse` lock (testing/ast_lock.py) holds against CPython 3.11's cross-thread race."""

from __future__ import annotations

import ast
import inspect
import sys
import threading

from onepool_runtime.testing import ast_lock


class _Cyclic:
    """Garbage whose collection runs Python code, so a thread switch can happen inside the AST converter."""

    def __del__(self) -> None:
        sum(range(50))


def _litter() -> None:
    for _ in range(200):
        a = _Cyclic()
        a.self = a  # type: ignore[attr-defined]


def test_two_threads_parsing_while_collecting_garbage_never_cross_counters() -> None:
    ast_lock.install()  # the plugin already did; installing twice must not stack locks
    assert getattr(ast.parse, "_onepool_locked", False)
    source = inspect.getsource(inspect)
    errors: list[BaseException] = []

    def spin() -> None:
        for _ in range(40):
            _litter()
            try:
                ast.parse(source)
            except SystemError as e:  # the race's symptom on an unlocked 3.11
                errors.append(e)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=spin) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert errors == []
