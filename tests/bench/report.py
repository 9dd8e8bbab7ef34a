"""One row per measured path: the figures now, the baseline measured beside it, their ratio, the target and
whether it is met. Printed as one rich table and written as JSON with the machine it ran on."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tests.bench.load import Sample


@dataclass
class Row:
    key: str
    path: str
    rate: str = ""
    p50: str = ""
    p99: str = ""
    baseline: str = ""
    ratio: float | None = None
    target: str = "—"
    met: bool | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def rate_text(sample: Sample) -> str:
    errors = sum(sample.errors.values())
    return f"{sample.rate:,.0f}/s" + (f" ({errors} failed)" if errors else "")


def ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 1000 else f"{value / 1000:,.2f} s"


def sample_row(key: str, path: str, now: Sample, base: Sample | None, base_name: str, **extra: Any) -> Row:
    """A throughput row: ratio = now's rate / the baseline's rate."""
    ratio = now.rate / base.rate if base is not None and base.rate > 0 else None
    row = Row(
        key=key,
        path=path,
        rate=rate_text(now),
        p50=ms(now.p50_ms),
        p99=ms(now.p99_ms),
        baseline=f"{base_name}: {rate_text(base)}" if base is not None else "",
        ratio=ratio,
        figures={"now": now.as_dict(), **({"baseline": base.as_dict()} if base is not None else {}), **extra},
    )
    row.figures["baseline_name"] = base_name
    return row


def render(rows: list[Row], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    for column, justify in (
        ("path", "left"),
        ("now", "right"),
        ("p50", "right"),
        ("p99", "right"),
        ("baseline (same run)", "left"),
        ("ratio", "right"),
        ("target", "left"),
        ("met?", "center"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        met = "—" if r.met is None else ("[green]yes[/green]" if r.met else "[red]no[/red]")
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        table.add_row(r.path, r.rate, r.p50, r.p99, r.baseline, ratio, r.target, met)
    return table


def write(path: Path, rows: list[Row], info: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**info, "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def show(rows: list[Row], title: str, console: Console | None = None) -> None:
    (console or Console(width=200)).print(render(rows, title))
