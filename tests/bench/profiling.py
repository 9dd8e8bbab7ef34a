"""py-spy against a running service for a few seconds, summarised as the functions where the time goes.

`py-spy record --format raw` writes collapsed stacks ("outer;...;inner count"); a function's inclusive share
is the fraction of samples with it anywhere on the stack (own + child time), its own share the fraction with
it on top, and a component's share (`COMPONENTS`: asyncpg, SQLAlchemy, the call pipeline, service code...)
the fraction whose innermost frame is the component's. Only samples of active (non-idle) threads are
recorded, so shares are of the busy time.

Failure modes: py-spy missing or not allowed to attach (ptrace) leaves `summary()` with an `error` and the
bench carries on without the profile.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_LINE_NO = re.compile(r":\d+\)$")
# The process's and the event loop's scaffolding, on every stack: left out of the inclusive ranking.
_SCAFFOLD = re.compile(
    r"\((<frozen runpy>|asyncio/runners\.py|asyncio/base_events\.py|asyncio/events\.py|threading\.py"
    r"|onepool_\w+/__main__\.py|onepool_\w+/entrypoints/main\.py)\)$|^run \(onepool_runtime/server\.py\)$"
)


# Where a sample's time goes, by the innermost frame that belongs to one of these (first match wins, in
# order). The native code a frame runs (asyncpg's protocol, protobuf's C parser) counts as its frame's; time
# in the event loop's own frames is uvloop's and gRPC core's C code (I/O, completion queues, callbacks).
# py-spy cannot see into C, so a thread waiting in uvloop's poll looks busy on its loop's frame: that share
# mixes native work with idle waiting (the relay thread's loop is nearly all waiting).
LOOP = "event loop: native I/O, or waiting (uvloop, gRPC core)"
COMPONENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (LOOP, re.compile(r"^RelayThread\._main ")),
    ("asyncpg", re.compile(r"\(asyncpg/")),
    ("SQLAlchemy", re.compile(r"\((sqlalchemy|sqlmodel)/")),
    ("OpenTelemetry", re.compile(r"\(opentelemetry/")),
    ("NATS client", re.compile(r"\(nats/")),
    ("protobuf", re.compile(r"\((google/protobuf|protobuf)/|_pb2\.py")),
    ("grpc (Python side)", re.compile(r"\(grpc/")),
    ("runtime: call pipeline", re.compile(r"\(onepool_runtime/(pipeline|auth|admission|grpc_errors|request_checks)")),
    (
        "runtime: consumer, outbox, relay",
        re.compile(r"\(onepool_runtime/(consumer|inbox|outbox|relay|uow|idempotency)"),
    ),
    ("runtime: other", re.compile(r"\(onepool_runtime/")),
    ("service code", re.compile(r"\(onepool_(orders|inventory|channels|dealers|settlement|kernel)/")),
    (LOOP, re.compile(r"\((uvloop|asyncio)/|^Runner\.run ")),
    ("threads (gRPC poller, relay)", re.compile(r"\(threading\.py")),
)


def component_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in COMPONENTS:
            if pattern.search(frame):
                return name
    return "other"


def _py_spy() -> str:
    return str(Path(sys.executable).parent / "py-spy")


class Profile:
    def __init__(self, name: str, pid: int, seconds: float, out_dir: Path) -> None:
        self.name = name
        self.out = out_dir / f"{name}.txt"
        out_dir.mkdir(parents=True, exist_ok=True)
        argv = [_py_spy(), "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", "100"]
        argv += ["-f", "raw", "-o", str(self.out), "--nonblocking"]
        self.proc: subprocess.Popen[bytes] | None = None
        self.error = ""
        try:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError as exc:
            self.error = str(exc)

    def summary(self, top: int = 15) -> dict[str, Any]:
        if self.proc is not None:
            _, err = self.proc.communicate(timeout=60)
            if self.proc.returncode != 0:
                self.error = err.decode(errors="replace").strip()[-500:]
        if self.error or not self.out.exists():
            return {"name": self.name, "error": self.error or "no profile written"}
        return {"name": self.name, "file": str(self.out), **summarise(self.out.read_text(), top)}


def summarise(collapsed: str, top: int = 15) -> dict[str, Any]:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    components: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_LINE_NO.sub(")", f) for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
        components[component_of(frames)] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        ranked = [(f, n) for f, n in counter.most_common() if counter is own or not _SCAFFOLD.search(f)]
        return [(frame, round(100 * n / total, 1)) for frame, n in ranked[:top]] if total else []

    by_component = [(name, round(100 * n / total, 1)) for name, n in components.most_common()] if total else []
    return {
        "samples": total,
        "inclusive_pct": share(inclusive),
        "own_pct": share(own),
        "components_pct": by_component,
    }
