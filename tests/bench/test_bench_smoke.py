"""The bench harness runs end to end at a tiny scale: every row of issue 11 is produced, from real calls
that succeeded, and the JSON carries the machine and the versions. It asserts that the harness works, never
how fast anything is (that is what `make bench` reports)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from onepool_cli.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.005
# What an overloaded machine may answer (PlaceOrder has been seen to end CANCELLED then; the rows count it).
OVERLOAD = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "CANCELLED"}


@pytest.mark.timeout(900)  # a bound for a stuck run on a crowded machine, not a performance assertion
def test_the_harness_produces_every_row_and_the_json(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--scale", str(SCALE), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads(out.read_text())
    rows = {row["key"]: row for row in document["rows"]}
    sweep = document["sizes"]["sweep"]

    expected = {f"idle.{svc.name}" for svc in SERVICES}
    expected |= {"empty_rpc", "get_availability", "reserve_spread", "cpu_per_order", "placed_event_delay"}
    expected |= {f"reserve_hot.{c}" for c in sweep} | {f"place_order.{c}" for c in sweep}
    expected |= {"settlement", "settlement.2"}
    assert set(rows) == expected

    for key, row in rows.items():
        if "now" in row["figures"]:  # a throughput row and the baseline measured beside it
            for side in ("now", "baseline"):
                assert row["figures"][side]["ok"] > 0, (key, side)
                # Any other failure is a request the harness got wrong.
                assert set(row["figures"][side]["errors"]) <= OVERLOAD, (key, side, row["figures"][side]["errors"])
            assert row["ratio"] is not None and row["ratio"] > 0, key
        assert row["target"], key
    assert "OnePool bench" in done.stdout  # the table's title

    cpu = rows["cpu_per_order"]["figures"]["per_process_ms"]
    assert set(cpu) == {svc.name for svc in SERVICES} | {"postgres", "nats"}
    assert rows["cpu_per_order"]["figures"]["total_ms"] > 0
    assert {"seen", "missing", "p50_ms", "p99_ms"} <= set(rows["placed_event_delay"]["figures"])
    for key, replicas in (("settlement", 1), ("settlement.2", 2)):
        settlement = rows[key]["figures"]
        assert settlement["baseline_acked"] == settlement["orders"]
        assert settlement["settled"] > 0 and settlement["replicas"] == replicas
    for svc in SERVICES:
        assert rows[f"idle.{svc.name}"]["figures"]["rss_mb"] > 0
    # Idle is measured once the services went quiet after start-up (or the wait's cap passed): both recorded.
    settled = document["idle_settled"]
    assert settled["waited_s"] > 0 and isinstance(settled["quiet"], bool)
    assert set(settled["last_window_cpu_pct"]) == {svc.name for svc in SERVICES}

    assert {"cores", "cpu_model", "memory_mb"} <= set(document["machine"])
    versions = document["versions"]
    assert versions["postgresql"] and versions["nats_server"] and versions["python"]
    assert versions["postgresql_fsync"] == "on" and versions["postgresql_synchronous_commit"] == "on"
