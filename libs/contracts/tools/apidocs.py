"""Generate the API reference (what `make docs` runs with the event catalogue): docs/api.md.

Usage: python libs/contracts/tools/apidocs.py [OUT_DIR]   (default docs/)

Source, none written by hand: the protos compiled with their comments (generate.descriptor_set). Per service its
comment; per RPC its comment, its request and response fields with their comments, and its errors. An RPC's
errors are the part of its comment after `Errors:`: items separated by `;`, each a gRPC code and, for
FAILED_PRECONDITION, the google.rpc.ErrorInfo reasons separated by `,`, each with its why in parentheses, e.g.
`Errors: NOT_FOUND (order); FAILED_PRECONDITION INVALID_ORDER_STATE (not RESERVED), RESERVATION_EXPIRED (...)`.
Another code names a reason the same way when its item is `CODE REASON (why)` (`INVALID_ARGUMENT LISTING_TERMS
(...)`, `RESOURCE_EXHAUSTED OVERLOADED (...)`). A service's comment may end with its own `Errors:` part: errors
every RPC of the service may answer with. The index of reasons (which RPCs answer with which reason) is built
from those items.
tests/contract/test_api_docs.py fails when the committed file differs from a fresh run, when an RPC, field or
enum value has no comment, and when a service raises a reason no RPC's comment names.

Failure modes (SystemExit with the reason, nothing written): an `Errors:` item that does not start with a gRPC
status code name, or a FAILED_PRECONDITION item without a reason.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.protobuf import descriptor_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalogue import Declaration, _cell, _md_members, _reachable, declarations
from generate import ROOT, descriptor_set

FILE = "api.md"
ERRORS_MARK = "Errors:"
STATUS_CODES = {c.name for c in grpc.StatusCode}
_REASON = re.compile(r"[A-Z][A-Z0-9_]+")


@dataclass(frozen=True)
class Failure:
    """One error an RPC may answer with: a gRPC code, the ErrorInfo reason (FAILED_PRECONDITION) and why."""

    code: str
    reason: str
    why: str


@dataclass
class Rpc:
    service: str  # onepool.orders.v1.OrderService
    name: str
    request: str
    response: str
    server_streaming: bool
    description: str
    failures: list[Failure] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.service}.{self.name}"


@dataclass
class Service:
    full_name: str
    proto_file: str
    description: str
    rpcs: list[Rpc]
    failures: list[Failure] = field(default_factory=list)  # every RPC of the service may answer with these


def _paragraphs(text: str) -> str:
    """A comment as Markdown: lines joined, blank lines kept as paragraph breaks."""
    blocks = [" ".join(b.split()) for b in re.split(r"\n\s*\n", text)]
    return "\n\n".join(b for b in blocks if b)


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _why(text: str) -> tuple[str, str]:
    """`NAME (why)` -> (NAME, why)."""
    head, _, rest = text.partition("(")
    return head.strip(), rest.rsplit(")", 1)[0].strip() if rest else ""


def parse_failures(rpc: str, text: str) -> list[Failure]:
    failures: list[Failure] = []
    for item in _split_top(" ".join(text.split()).rstrip("."), ";"):
        code, _, rest = item.partition(" ")
        rest = rest.strip()
        if code not in STATUS_CODES:
            raise SystemExit(f"{rpc}: error item {item!r} does not start with a gRPC status code")
        if code != "FAILED_PRECONDITION":
            head, why = _why(rest)
            if "(" in rest and _REASON.fullmatch(head):  # `CODE REASON (why)`: a reason with another code
                failures.append(Failure(code, head, why))
            else:
                failures.append(Failure(code, "", why if rest.startswith("(") else rest))
            continue
        for part in _split_top(rest, ","):
            reason, why = _why(part)
            if not _REASON.fullmatch(reason):
                raise SystemExit(f"{rpc}: FAILED_PRECONDITION item {part!r} names no ErrorInfo reason")
            failures.append(Failure(code, reason, why))
    return failures


# contracts.md's order (the ports 50051..50055).
SERVICE_ORDER = ("orders", "inventory", "channels", "dealers", "settlement")


def services(files: descriptor_pb2.FileDescriptorSet) -> list[Service]:
    """Every OnePool service with its RPCs, in SERVICE_ORDER (then by name)."""
    found: list[Service] = []
    for f in files.file:
        if not f.package.startswith("onepool."):
            continue
        where = {tuple(loc.path): loc for loc in f.source_code_info.location}
        for i, s in enumerate(f.service):
            full = f"{f.package}.{s.name}"
            rpcs = []
            for j, m in enumerate(s.method):
                loc = where.get((6, i, 2, j))
                comment = loc.leading_comments if loc is not None else ""
                description, _, errors = comment.partition(ERRORS_MARK)
                rpc = Rpc(
                    full,
                    m.name,
                    m.input_type.lstrip("."),
                    m.output_type.lstrip("."),
                    m.server_streaming,
                    _paragraphs(description),
                )
                rpc.failures = parse_failures(rpc.full_name, errors) if errors.strip() else []
                rpcs.append(rpc)
            loc = where.get((6, i))
            description, _, errors = (loc.leading_comments if loc else "").partition(ERRORS_MARK)
            service = Service(full, f.name, _paragraphs(description), rpcs)
            service.failures = parse_failures(full, errors) if errors.strip() else []
            found.append(service)

    def rank(s: Service) -> tuple[int, str]:
        package = s.full_name.split(".")[1]
        return (SERVICE_ORDER.index(package) if package in SERVICE_ORDER else len(SERVICE_ORDER), s.full_name)

    return sorted(found, key=rank)


def reasons(found: list[Service]) -> dict[str, list[str]]:
    """Every ErrorInfo reason the comments name, with links to the RPCs (or services) that answer with it."""
    index: dict[str, list[str]] = {}
    for s in found:
        for failure in s.failures:
            if failure.reason:
                link = f"every RPC of [`{s.full_name.rsplit('.', 1)[1]}`](#{_anchor(s.full_name)})"
                index.setdefault(failure.reason, []).append(link)
        for rpc in s.rpcs:
            for failure in rpc.failures:
                if failure.reason:
                    index.setdefault(failure.reason, []).append(f"[`{rpc.name}`](#{_anchor(rpc.full_name)})")
    for reason, uses in index.items():
        if sum(use.startswith("every RPC of ") for use in uses) == len(found):
            index[reason] = ["every RPC of every service"]
    return dict(sorted(index.items()))


def _anchor(name: str) -> str:
    return name.replace(".", "-").lower()


def _message_section(title: str, name: str, decls: dict[str, Declaration]) -> list[str]:
    decl = decls[name]
    lines = [
        f'{title} <a id="{name}"></a>`{name.rsplit(".", 1)[1]}`' + (f": {decl.comment}" if decl.comment else ""),
        "",
    ]
    if decl.message is not None and not decl.message.field:
        return [*lines, "(no fields)", ""]
    return [*lines, *_md_members(decl, decls), ""]


def _rpc_section(rpc: Rpc, decls: dict[str, Declaration]) -> list[str]:
    stream = " (server stream)" if rpc.server_streaming else ""
    lines = [f'### <a id="{_anchor(rpc.full_name)}"></a>`{rpc.name}`{stream}', ""]
    if rpc.description:
        lines += [rpc.description, ""]
    lines += _message_section("Request", rpc.request, decls)
    lines += _message_section("Response" + (", streamed" if rpc.server_streaming else ""), rpc.response, decls)
    if rpc.failures:
        lines += ["Errors (besides those every RPC of the service may return):", "", *_failure_table(rpc.failures)]
    return lines


def _failure_table(failures: list[Failure]) -> list[str]:
    lines = ["| code | reason | when |", "|---|---|---|"]
    for f in failures:
        reason = f"`{f.reason}`" if f.reason else " "
        lines.append(f"| `{f.code}` | {reason} | {_cell(f.why)} |")
    return [*lines, ""]


def api_markdown(found: list[Service], decls: dict[str, Declaration]) -> str:
    lines = [
        "# API reference",
        "",
        "<!-- GENERATED by `make docs` (libs/contracts/tools/apidocs.py) from the comments in protos/;"
        " do not edit. -->",
        "",
        "The five gRPC services, every RPC with its request, response and errors, from the comments in `protos/`",
        "(the same text `grpcurl describe` shows, since every server serves its descriptors with their comments",
        "over reflection). Every call needs `authorization: Bearer <JWT>` (health and reflection excepted).",
        "A FAILED_PRECONDITION carries `google.rpc.ErrorInfo` (domain `onepool`) whose `reason` is one of the",
        "[reasons](#reasons) below, with metadata naming what it is about; INVALID_ARGUMENT carries",
        "`google.rpc.BadRequest` with every offending field; NOT_FOUND and ALREADY_EXISTS carry",
        "`google.rpc.ResourceInfo`; UNAVAILABLE carries `google.rpc.RetryInfo`. Events: [events.md](events.md).",
        "",
        "| service | RPCs | proto |",
        "|---|---|---|",
    ]
    for s in found:
        lines.append(f"| [`{s.full_name}`](#{_anchor(s.full_name)}) | {len(s.rpcs)} | `protos/{s.proto_file}` |")
    index = reasons(found)
    lines += ["", '## <a id="reasons"></a>Error reasons', ""]
    lines += ["| reason | answered by |", "|---|---|"]
    for reason, uses in index.items():
        lines.append(f"| `{reason}` | {', '.join(dict.fromkeys(uses))} |")
    for s in found:
        lines += ["", f'## <a id="{_anchor(s.full_name)}"></a>`{s.full_name}`', ""]
        if s.description:
            lines += [s.description, ""]
        if s.failures:
            lines += ["Errors every RPC of the service may also return:", "", *_failure_table(s.failures)]
        for rpc in s.rpcs:
            lines += _rpc_section(rpc, decls)
    top = {name for s in found for rpc in s.rpcs for name in (rpc.request, rpc.response)}
    lines += ["## Types", ""]
    for name in _reachable(sorted(top), decls):
        if name in top:
            continue
        decl = decls[name]
        lines += [f'### <a id="{name}"></a>`{name}`', ""]
        if decl.comment:
            lines += [decl.comment, ""]
        lines += [*_md_members(decl, decls), ""]
    return "\n".join(lines).rstrip() + "\n"


def render() -> str:
    files = descriptor_set()
    return api_markdown(services(files), declarations(files))


def generate(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / FILE
    target.write_text(render())
    return target


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    print(f"wrote {generate(target)}")
