"""`python -m tests.bench [--scale 0.02] [--out PATH] [--profile] [--only settlement]` (what `make bench` runs
at scale 1, every step)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")  # the harness spawns processes while channels are open

from tests.bench.harness import run  # grpc reads the variable above when it loads

ROOT = Path(__file__).resolve().parents[2]


def main(
    scale: Annotated[
        float, typer.Option(envvar="ONEPOOL_BENCH_SCALE", help="1 = the full run; 0.02 = a smoke run of seconds.")
    ] = 1.0,
    out: Annotated[Path, typer.Option(help="Where the JSON goes.")] = ROOT / "bench" / "results" / "latest.json",
    profile: Annotated[
        bool, typer.Option(help="py-spy inventory during GetAvailability and orders during PlaceOrder (10 s each).")
    ] = False,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only these steps (e.g. settlement); repeat for several.")
    ] = None,
) -> None:
    """Every path of issue 11 against its baseline, measured in one run."""
    asyncio.run(run(scale, out, profile, tuple(only or ())))


if __name__ == "__main__":
    typer.run(main)
