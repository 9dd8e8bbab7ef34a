"""`onepool dlq list|show|replay|discard`: the dead letters in the DLQ stream, for operators.

A dead letter is an event a consumer gave up on (see onepool_runtime.consumer): its original payload and
headers plus Onepool-* headers saying where it came from and why it failed. A dead letter is one consumer's:
the others of its subject settled the event their own way. `replay` publishes it again to its original
subject with `Onepool-Replay-For` = that consumer's durable name (every other consumer of the subject acks
it without effect, and external subscribers are told to ignore it: docs/events.md), under a new
Nats-Msg-Id (derived from the dead letter's sequence, so a replay repeated within JetStream's duplicate
window is dropped) with `Onepool-Event-Id` = the original event id, so the consumer's inbox still
recognises the event; once JetStream has acknowledged the copy, the dead letter is deleted from the DLQ
stream. A replay before the cause is fixed fails the same way: the consumer dead-letters the event again, as a
new dead letter with a new sequence (the old one is gone). `discard` deletes one dead letter without
replaying it: its consumer never applies that event.

Failure modes: NATS unreachable, without JetStream, or no stream taking a replayed subject -> exit 1 with the
reason (`replay --all` has printed each letter replayed before it); an unknown sequence -> exit 2 (`discard` of
one the stream had and no longer has says so and exits 0: it is idempotent); a crash between
republishing and deleting -> the dead letter stays and a second replay is either dropped by the duplicate
window or dropped by the consumer's inbox (same event id).
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar

import nats.errors
import typer
from google.protobuf import descriptor_pool, json_format, message_factory
from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError, NotFoundError
from onepool_runtime.consumer import (
    CONSUMER_HEADER,
    DLQ_STREAM,
    ERROR_HEADER,
    EVENT_ID_HEADER,
    ORIGINAL_MSG_ID_HEADER,
    ORIGINAL_SUBJECT_HEADER,
    REPLAY_FOR_HEADER,
)
from onepool_runtime.outbox import EVENT_TYPE_HEADER, MSG_ID_HEADER
from rich.console import Console
from rich.table import Table

from onepool_cli import natsconn
from onepool_cli.tables import print_table

app = typer.Typer(help="Dead letters: list them, show one, replay them, discard one.", no_args_is_help=True)
console = Console()
T = TypeVar("T")

# Written by the consumer when it dead-letters; dropped on replay (they describe the failure, not the event).
_DEAD_LETTER_HEADERS = {
    ORIGINAL_SUBJECT_HEADER,
    ORIGINAL_MSG_ID_HEADER,
    CONSUMER_HEADER,
    ERROR_HEADER,
    EVENT_ID_HEADER,
    MSG_ID_HEADER,
    REPLAY_FOR_HEADER,
    "Onepool-Stream",
    "Onepool-Stream-Seq",
    "Onepool-Deliveries",
    "Onepool-Failures",
    "Onepool-Dead-Lettered-At",
}


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    subject: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    time: datetime | None = None

    @property
    def original_subject(self) -> str:
        return self.headers.get(ORIGINAL_SUBJECT_HEADER, "")

    @property
    def event_id(self) -> str:
        return self.headers.get(ORIGINAL_MSG_ID_HEADER, "")

    @property
    def consumer(self) -> str:
        return self.headers.get(CONSUMER_HEADER, "")

    @property
    def error(self) -> str:
        return self.headers.get(ERROR_HEADER, "")

    @property
    def deliveries(self) -> str:
        return self.headers.get("Onepool-Deliveries", "")

    @property
    def event_type(self) -> str:
        return self.headers.get(EVENT_TYPE_HEADER, "")

    def replay_headers(self) -> dict[str, str]:
        headers = {k: v for k, v in self.headers.items() if k not in _DEAD_LETTER_HEADERS}
        headers[MSG_ID_HEADER] = f"replay-{self.seq}-{self.event_id}"[:128]
        headers[REPLAY_FOR_HEADER] = self.consumer
        if self.event_id:
            headers[EVENT_ID_HEADER] = self.event_id
        return headers


async def read(js: JetStreamContext, *, consumer: str = "", limit: int = 0) -> list[DeadLetter]:
    """Dead letters in stream order (only those of `consumer` if given; at most `limit` if > 0)."""
    found: list[DeadLetter] = []
    try:
        info = await js.stream_info(DLQ_STREAM)
    except NotFoundError:
        return found
    seq, last = info.state.first_seq, info.state.last_seq
    while seq and seq <= last and (limit <= 0 or len(found) < limit):
        try:
            raw = await js.get_msg(DLQ_STREAM, seq=seq, subject="dlq.>", next=True)
        except NotFoundError:
            break
        letter = DeadLetter(raw.seq or seq, raw.subject or "", raw.data or b"", dict(raw.headers or {}), raw.time)
        seq = letter.seq + 1
        if not consumer or letter.consumer == consumer:
            found.append(letter)
    return found


async def get(js: JetStreamContext, seq: int) -> DeadLetter | None:
    if seq < 1:  # JetStream answers a bad request, not "not found", for these
        return None
    try:
        raw = await js.get_msg(DLQ_STREAM, seq=seq)
    except NotFoundError:
        return None
    return DeadLetter(raw.seq or seq, raw.subject or "", raw.data or b"", dict(raw.headers or {}), raw.time)


async def replay(js: JetStreamContext, letter: DeadLetter) -> None:
    """Publish the event again to its original subject for its consumer only, then delete the dead letter (in
    that order)."""
    if not letter.original_subject:
        raise ValueError(f"dead letter {letter.seq} does not name its original subject")
    if not letter.consumer:  # without it every consumer of the subject would take the event again
        raise ValueError(f"dead letter {letter.seq} does not name its consumer")
    await js.publish(letter.original_subject, letter.data, headers=letter.replay_headers())
    await js.delete_msg(DLQ_STREAM, letter.seq)


class Discard(enum.Enum):
    DONE = "discarded"
    GONE = "gone"  # the stream had it: discarded or replayed already, or past the stream's max age
    UNKNOWN = "unknown"  # the stream never had it


async def discard(js: JetStreamContext, seq: int) -> tuple[Discard, DeadLetter | None]:
    """Delete dead letter `seq` without replaying it (what it was, when it was there)."""
    if seq < 1:
        return Discard.UNKNOWN, None
    try:
        info = await js.stream_info(DLQ_STREAM)
    except NotFoundError:
        return Discard.UNKNOWN, None
    if seq > info.state.last_seq:  # sequences are never reused: every one up to last_seq was a dead letter
        return Discard.UNKNOWN, None
    letter = await get(js, seq)
    if letter is None:
        return Discard.GONE, None
    try:
        await js.delete_msg(DLQ_STREAM, seq)
    except NotFoundError:  # deleted meanwhile (another discard, a replay)
        return Discard.GONE, None
    return Discard.DONE, letter


_loaded = False


def _load_contracts() -> None:
    """Import every generated module of the contract so the descriptor pool knows every message type."""
    global _loaded
    if _loaded:
        return
    import onepool

    for module in pkgutil.walk_packages(onepool.__path__, "onepool."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)
    _loaded = True


def decode(letter: DeadLetter) -> str:
    """The payload as JSON when its Onepool-Event-Type names a known message and it parses; else hex."""
    _load_contracts()
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(letter.event_type)
        message = message_factory.GetMessageClass(descriptor).FromString(letter.data)
        return json_format.MessageToJson(message, indent=2)
    except Exception:  # unknown type, or the bytes that got it dead-lettered
        return letter.data.hex()


def _run(url: str, work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    return natsconn.run(url, lambda nc: work(nc.jetstream()))


NatsUrl = natsconn.NatsUrl
_url = natsconn.url


@app.command("list")
def list_command(
    nats_url: NatsUrl = "",
    consumer: Annotated[str, typer.Option(help="Only this consumer's (e.g. orders-reservation-expiry).")] = "",
    limit: Annotated[int, typer.Option(help="At most this many (0: all).")] = 100,
) -> None:
    """List dead letters: sequence, time, consumer, original subject, deliveries, error."""
    letters = _run(_url(nats_url), lambda js: read(js, consumer=consumer, limit=limit))
    cut = limit > 0 and len(letters) >= limit
    title = f"first {limit} dead letters (more may exist: --limit)" if cut else f"{len(letters)} dead letter(s)"
    table = Table(title=title)
    for column in ("seq", "time", "subject", "original subject", "consumer", "deliveries", "error"):
        table.add_column(column, overflow="fold")
    for d in letters:
        when = d.time.isoformat(timespec="seconds") if d.time else d.headers.get("Onepool-Dead-Lettered-At", "")
        table.add_row(str(d.seq), when, d.subject, d.original_subject, d.consumer, d.deliveries, d.error[:120])
    print_table(console, table)


@app.command("show")
def show_command(
    seq: Annotated[int, typer.Argument(help="The dead letter's sequence (from `list`).")], nats_url: NatsUrl = ""
) -> None:
    """Show one dead letter in full: its headers, and its payload decoded as JSON (hex if unknown)."""
    letter = _run(_url(nats_url), lambda js: get(js, seq))
    if letter is None:
        console.print(f"[red]no dead letter {seq}[/red]")
        raise typer.Exit(2)
    table = Table(title=f"dead letter {seq} on {letter.subject}", show_header=False)
    for key, value in sorted(letter.headers.items()):
        table.add_row(key, value)
    print_table(console, table)
    console.print(decode(letter), markup=False, highlight=False)


@app.command("replay")
def replay_command(
    seq: Annotated[int | None, typer.Argument(help="The dead letter's sequence; omit with --all.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every dead letter (of --consumer if given).")] = False,
    consumer: Annotated[str, typer.Option(help="With --all: only this consumer's.")] = "",
    nats_url: NatsUrl = "",
) -> None:
    """Publish dead letters again to their original subjects, each for the consumer that dead-lettered it only,
    then remove them from the DLQ stream. Fix the cause first: a letter replayed before that fails again and
    comes back as a new dead letter, under a new sequence."""
    if (seq is None) == (not all_):
        raise typer.BadParameter("give one sequence, or --all")

    async def work(js: JetStreamContext) -> list[int]:
        if seq is not None:
            found = await get(js, seq)
            letters = [found] if found is not None else []
        else:
            letters = await read(js, consumer=consumer)
        done: list[int] = []
        for letter in letters:
            try:
                await replay(js, letter)
            except (OSError, ValueError, nats.errors.Error) as exc:
                # The ones before are republished and deleted already: say so before the run stops.
                why = f"no stream takes {letter.original_subject}" if isinstance(exc, NoStreamResponseError) else exc
                console.print(f"[red]dead letter {letter.seq} not replayed: {why}[/red]")
                console.print(f"replayed {len(done)} dead letter(s) before the failure: {_seqs(done)}")
                raise
            done.append(letter.seq)
            if all_:
                console.print(f"replayed {letter.seq} to {letter.original_subject}")
        return done

    try:
        done: Any = _run(_url(nats_url), work)
    except ValueError as exc:
        raise typer.Exit(1) from exc
    if seq is not None and not done:
        console.print(f"[red]no dead letter {seq}[/red]")
        raise typer.Exit(2)
    console.print(f"replayed {len(done)} dead letter(s): {_seqs(done)}")


def _seqs(seqs: list[int]) -> str:
    return ", ".join(map(str, seqs)) or "-"


@app.command("discard")
def discard_command(
    seq: Annotated[int, typer.Argument(help="The dead letter's sequence (from `list`).")], nats_url: NatsUrl = ""
) -> None:
    """Delete one dead letter for good, without replaying it: its consumer never applies that event (one that
    must not be applied, or whose effect was made by hand). Idempotent: a letter already gone (discarded,
    replayed, or past the stream's 7 days) is said so, exit 0; a sequence the DLQ never had exits 2."""
    outcome, letter = _run(_url(nats_url), lambda js: discard(js, seq))
    if outcome is Discard.UNKNOWN:
        console.print(f"[red]no dead letter {seq}[/red]")
        raise typer.Exit(2)
    if outcome is Discard.GONE or letter is None:
        console.print(f"dead letter {seq} is gone already (discarded, replayed or expired): nothing to do")
        return
    console.print(
        f"discarded dead letter {seq}: event {letter.event_id or '-'} on {letter.original_subject or '-'} "
        f"for {letter.consumer or '-'}",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
