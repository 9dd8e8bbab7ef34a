"""Where each durable consumer stood right before a backup: written by `onepool consumers save-positions FILE`,
read by `consumers rewind --to-positions FILE` and `restore check --positions FILE` (docs/operations.md).

Why positions and not a time: a consumer acknowledges a message only after the transaction that applied it,
and wrote its inbox row, committed (onepool_runtime.consumer: commit, then ack; a dead letter is terminated
after its hook's commit; what it acks without applying has no effect to keep). So every message up to a
durable's ack floor read BEFORE pg_dump starts has its effect in the dump's snapshot, however far behind the
consumer was; after the restore, delivering again from that floor + 1 brings back everything the snapshot may
lack. A time cannot: a consumer L minutes behind at the backup applied the events of those L minutes after
it, so their effects are gone with the restore, and a rewind to the backup's time starts after them.

Each stream's last sequence at the save bounds what `restore check` reads: a transaction the restore lost
committed after the snapshot began, so after the save, and its outbox publishes only committed rows, so each
event it published has a sequence past that last one. A stream's creation time is kept too: a stream deleted
and created again numbers from 1, and its saved sequences mean nothing then.

A file saved after the backup has the blind spot of a late --since (what was applied between the two is
lost); nothing in the restored databases shows it, so the runbook saves it in the same step, first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import typer
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from onepool_runtime.messaging import STREAMS

FORMAT = "onepool-consumer-positions/1"


class Position(Protocol):
    @property
    def stream(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def delivered(self) -> int: ...
    @property
    def ack_floor(self) -> int: ...


@dataclass(frozen=True)
class Stream:
    last_seq: int  # its last message when the positions were saved
    created: str  # its creation time as the server gave it: another value means another stream


@dataclass(frozen=True)
class Saved:
    path: Path
    saved_at: datetime
    floors: dict[str, tuple[str, int]]  # durable name -> (stream, ack floor)
    streams: dict[str, Stream]


async def streams(js: JetStreamContext) -> dict[str, tuple[Stream, int]]:
    """Each service stream there is: its last sequence and creation time, and its first sequence now."""
    found = {}
    for stream in STREAMS.values():
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            continue
        created = info.created.isoformat() if info.created else ""
        found[stream] = (Stream(info.state.last_seq, created), info.state.first_seq)
    return found


async def document(js: JetStreamContext, durables: Iterable[Position]) -> dict[str, Any]:
    saved_at = datetime.now(UTC)
    found = await streams(js)
    return {
        "format": FORMAT,
        "saved_at": saved_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "streams": {name: {"last_seq": s.last_seq, "created": s.created} for name, (s, _) in found.items()},
        "consumers": [
            {"stream": d.stream, "name": d.name, "ack_floor": d.ack_floor, "delivered": d.delivered} for d in durables
        ],
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    """Whole or not at all: a half-written file must not be taken for positions."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as out:
        json.dump(doc, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def load(path: Path, option: str) -> Saved:
    """The file, or exit 2 naming the option and what is wrong with it."""
    try:
        doc = json.loads(path.read_text())
        if doc.get("format") != FORMAT:
            raise ValueError(f"not a positions file (format {doc.get('format')!r}, expected {FORMAT!r})")
        at = datetime.fromisoformat(doc["saved_at"])
        floors = {str(c["name"]): (str(c["stream"]), int(c["ack_floor"])) for c in doc["consumers"]}
        kept = {str(k): Stream(int(v["last_seq"]), str(v["created"])) for k, v in doc["streams"].items()}
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror or exc}", param_hint=option) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        why = exc if isinstance(exc, ValueError) else f"missing or malformed {exc}"
        raise typer.BadParameter(f"{path}: {why}", param_hint=option) from exc
    return Saved(path, at, floors, kept)
