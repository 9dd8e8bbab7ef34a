"""`onepool events tail [SUBJECT...]`: integration events as they are published, one JSON object per line.

Each line is {"subject", "type", "event_id", "event"}: the event decoded by its protobuf type, found in the
generated registry (onepool_contracts.events) by the subject, else by the Onepool-Event-Type header. SUBJECT
is a NATS subject or wildcard (`orders.>`, `inventory.stock.*`); none means every service's events. It is a
plain subscription: it shows what is published from now on, adds no consumer to any stream and acknowledges
nothing, so tailing cannot disturb the services.

Failure modes: NATS unreachable -> exit 1 with the reason; a payload that does not parse as its type, or a
subject the registry does not know -> the line carries "undecodable" (the reason) and "data_hex" instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Annotated, Any

import nats.errors
import typer
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from nats.aio.client import Client
from nats.aio.msg import Msg
from onepool_contracts.events import BY_NAME, BY_SUBJECT, EVENTS, EventType
from onepool_runtime.consumer import EVENT_ID_HEADER
from onepool_runtime.outbox import EVENT_TYPE_HEADER, MSG_ID_HEADER

from onepool_cli import natsconn

app = typer.Typer(help="Integration events: watch them as they happen.", no_args_is_help=True)
ALL_SUBJECTS = sorted({f"{e.subject.split('.', 1)[0]}.>" for e in EVENTS})


def decode(subject: str, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """One event as a JSON-ready dict (see the module doc)."""
    known: EventType | None = BY_SUBJECT.get(subject) or BY_NAME.get(headers.get(EVENT_TYPE_HEADER, ""))
    line: dict[str, Any] = {
        "subject": subject,
        "type": known.full_name if known else headers.get(EVENT_TYPE_HEADER, ""),
        "event_id": headers.get(EVENT_ID_HEADER) or headers.get(MSG_ID_HEADER, ""),
    }
    if known is None:
        return {**line, "undecodable": "not an event of the registry", "data_hex": data.hex()}
    try:
        message = known.message.FromString(data)
    except DecodeError as exc:
        return {**line, "undecodable": str(exc), "data_hex": data.hex()}
    line["event"] = json_format.MessageToDict(message)
    return line


@app.command("tail")
def tail(
    subjects: Annotated[list[str] | None, typer.Argument(help="Subjects or wildcards; default: every event.")] = None,
    nats_url: natsconn.NatsUrl = "",
    count: Annotated[int, typer.Option(help="Stop after this many events (0: until Ctrl-C).")] = 0,
) -> None:
    """Print events as JSON lines as they are published (decoded by their type)."""
    chosen = subjects or ALL_SUBJECTS

    async def work(nc: Client) -> None:
        done = asyncio.Event()
        seen = 0

        async def show(msg: Msg) -> None:
            nonlocal seen
            if done.is_set():
                return
            print(json.dumps(decode(msg.subject, msg.data, dict(msg.headers or {})), ensure_ascii=False), flush=True)
            seen += 1
            if count and seen >= count:
                done.set()

        for subject in chosen:
            try:
                await nc.subscribe(subject, cb=show)
            except nats.errors.BadSubjectError as exc:
                print(f"subject {subject!r} is not valid", file=sys.stderr, flush=True)
                raise typer.Exit(2) from exc
        await nc.flush()  # the subscriptions are registered with the server before we say so
        print(f"tailing {' '.join(chosen)} (Ctrl-C stops)", file=sys.stderr, flush=True)
        await done.wait()

    with contextlib.suppress(KeyboardInterrupt):
        natsconn.run(natsconn.url(nats_url), work)
