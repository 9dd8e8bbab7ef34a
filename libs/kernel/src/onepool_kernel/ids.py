"""Random (version 4) UUIDs from a buffered source: one `os.urandom` call per 256 ids instead of one per id.

Why: `os.urandom` is a system call made with the interpreter lock released. In a service whose outbox relay
runs on a thread of its own (onepool_runtime.relay_thread), the relay thread takes the lock each time, and the
request handler that gave it up waits to get it back, up to `sys.getswitchinterval()`, on every id of every
order. The ids are as random as `uuid.uuid4()`'s (the same kernel source, read in larger pieces).

A forked child drops the buffer it inherited (`os.register_at_fork`), so parent and child never hand out the
same ids.
"""

from __future__ import annotations

import os
import threading
import uuid

_IDS_PER_READ = 256
_lock = threading.Lock()
_buffer = b""
_offset = 0


def _forget_buffer() -> None:
    global _buffer, _offset, _lock
    _buffer, _offset, _lock = b"", 0, threading.Lock()


os.register_at_fork(after_in_child=_forget_buffer)


def new_uuid() -> str:
    """A random UUID (version 4) as its canonical string, like `str(uuid.uuid4())`."""
    global _buffer, _offset
    with _lock:
        if _offset >= len(_buffer):
            _buffer, _offset = os.urandom(16 * _IDS_PER_READ), 0
        raw = _buffer[_offset : _offset + 16]
        _offset += 16
    return str(uuid.UUID(bytes=raw, version=4))
