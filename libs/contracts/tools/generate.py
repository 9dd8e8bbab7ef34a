"""Regenerate the Python contracts from protos/ (what `make proto` runs).

Usage: python libs/contracts/tools/generate.py [OUT_DIR]

Writes *_pb2.py, *_pb2_grpc.py and *.pyi for every .proto under protos/ into OUT_DIR (default
libs/contracts/src), plus an empty __init__.py in every package directory so the tree is a regular package,
the event registry `onepool_contracts/events.py` (subject <-> message, producer, stream) read from the
`(onepool.common.v1.subject)` option of every event message, and `onepool_contracts/descriptors.binpb`: the
OnePool files as a FileDescriptorSet WITH source info (comments), which server reflection serves in place of the
comment-less descriptors the generated modules carry (onepool_runtime.reflection).
The committed output must equal a fresh run: tests/contract/test_generated_code.py checks it.

Failure modes (SystemExit with the reason, nothing half-written is committed by `make proto`): protoc refuses
the protos; an event message (a message of a `events.proto` file) has no subject; two messages share a
subject; a subject does not start with the producing service's name (`onepool.<service>.v1`).
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[3]
PROTOS = ROOT / "protos"
SUBJECT_OPTION = "onepool.common.v1.subject"
REGISTRY = Path("onepool_contracts") / "events.py"
DESCRIPTORS = Path("onepool_contracts") / "descriptors.binpb"


@dataclass(frozen=True)
class EventMessage:
    """One event message as declared in the protos."""

    subject: str
    full_name: str  # onepool.orders.v1.OrderPaid
    proto_file: str  # onepool/orders/v1/events.proto
    producer: str  # orders

    @property
    def name(self) -> str:
        return self.full_name.rsplit(".", 1)[1]

    @property
    def module(self) -> str:
        return self.proto_file.removesuffix(".proto").replace("/", ".") + "_pb2"

    @property
    def stream(self) -> str:
        # contracts.md: one JetStream stream per service, named after it (ORDERS holds orders.>).
        return self.producer.upper()


def _proto_files() -> list[str]:
    return sorted(p.relative_to(PROTOS).as_posix() for p in PROTOS.rglob("*.proto"))


def _protoc(*args: str) -> None:
    well_known = Path(protoc.__file__).parent / "_proto"
    if protoc.main(["protoc", f"-I{PROTOS}", f"-I{well_known}", *args, *_proto_files()]) != 0:
        raise SystemExit("protoc failed")


def descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """Every proto file (and its imports) with source info, so comments are available to the docs."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "onepool.binpb"
        _protoc(f"--descriptor_set_out={out}", "--include_imports", "--include_source_info")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def event_messages(files: descriptor_pb2.FileDescriptorSet) -> list[EventMessage]:
    """The subject option of every message, checked: one subject per event message, one message per subject."""
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:
        pool.Add(f)
    option = pool.FindExtensionByName(SUBJECT_OPTION)
    # Options are parsed again with this pool's MessageOptions, the only class that knows the extension.
    options_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.protobuf.MessageOptions"))
    found: list[EventMessage] = []
    problems: list[str] = []
    for f in files.file:
        if not f.package.startswith("onepool."):
            continue
        is_events_file = Path(f.name).name.startswith("events")
        for m in f.message_type:
            full_name = f"{f.package}.{m.name}"
            options = options_class.FromString(m.options.SerializeToString())
            subject: str = options.Extensions[option]  # type: ignore[index]
            if not subject:
                if is_events_file:
                    problems.append(f"{full_name} ({f.name}) has no ({SUBJECT_OPTION}) option")
                continue
            producer = f.package.split(".")[1]
            if subject.split(".")[0] != producer:
                problems.append(f"{full_name}: subject {subject!r} is not under {producer}.")
            found.append(EventMessage(subject, full_name, f.name, producer))
    by_subject: dict[str, list[str]] = {}
    for e in found:
        by_subject.setdefault(e.subject, []).append(e.full_name)
    shared = {s: names for s, names in by_subject.items() if len(names) > 1}
    problems += [f"subject {s!r} is declared by {', '.join(names)}" for s, names in shared.items()]
    if problems:
        raise SystemExit("event subjects:\n  " + "\n  ".join(problems))
    return sorted(found, key=lambda e: e.subject)


_REGISTRY_HEAD = '''"""Event registry: each integration event's subject, message class, producing service and stream.

GENERATED by libs/contracts/tools/generate.py (`make proto`) from the `(onepool.common.v1.subject)` option of
every event message in protos/; do not edit. The outbox finds an event's subject here and consumers subscribe
by message type, so no service spells a subject.

Failure modes: `event_type` raises LookupError for a message that is not an event (no subject option).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

'''

_REGISTRY_BODY = '''

@dataclass(frozen=True)
class EventType:
    subject: str
    message: type[Message]
    producer: str  # the service that publishes it
    stream: str  # the JetStream stream that holds it

    @property
    def full_name(self) -> str:
        return str(self.message.DESCRIPTOR.full_name)


EVENTS: tuple[EventType, ...] = (
{rows}
)
BY_SUBJECT: dict[str, EventType] = {{e.subject: e for e in EVENTS}}
BY_NAME: dict[str, EventType] = {{e.full_name: e for e in EVENTS}}


def event_type(message: Message | type[Message]) -> EventType:
    """The registry entry of an event message (instance or class)."""
    name = message.DESCRIPTOR.full_name
    try:
        return BY_NAME[name]
    except KeyError:
        raise LookupError(f"{{name}} is not an event: it has no (onepool.common.v1.subject) option") from None


def subject_of(message: Message | type[Message]) -> str:
    return event_type(message).subject

'''


def registry_source(events: list[EventMessage]) -> str:
    modules = sorted({e.module for e in events})
    alias = {m: m.split(".")[1] + "_events" for m in modules}
    imports = "".join(f"from {m.rsplit('.', 1)[0]} import {m.rsplit('.', 1)[1]} as {alias[m]}\n" for m in modules)
    rows = "\n".join(
        f'    EventType("{e.subject}", {alias[e.module]}.{e.name}, "{e.producer}", "{e.stream}"),' for e in events
    )
    return _REGISTRY_HEAD + imports + _REGISTRY_BODY.format(rows=rows)


def generate(out_dir: Path) -> list[Path]:
    protos = _proto_files()
    out_dir.mkdir(parents=True, exist_ok=True)
    _protoc(f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", f"--pyi_out={out_dir}")
    registry = out_dir / REGISTRY
    registry.parent.mkdir(parents=True, exist_ok=True)
    files = descriptor_set()
    registry.write_text(registry_source(event_messages(files)))
    own = descriptor_pb2.FileDescriptorSet(file=[f for f in files.file if f.package.startswith("onepool.")])
    (out_dir / DESCRIPTORS).write_bytes(own.SerializeToString(deterministic=True))
    for package_dir in {(out_dir / p).parent for p in protos} | {registry.parent}:
        d = package_dir
        while d != out_dir:
            (d / "__init__.py").touch()
            d = d.parent
    return sorted(p for p in out_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "libs" / "contracts" / "src"
    files = generate(target)
    print(f"generated {len(files)} files under {target}")
