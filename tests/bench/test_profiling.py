"""The py-spy summary ranks functions by the share of samples they appear in (own + child time) and by the
share they were on top of, leaving out the event loop's scaffolding."""

from __future__ import annotations

from tests.bench.profiling import summarise

LOOP = "BaseEventLoop._run_once (asyncio/base_events.py:1922);Handle._run (asyncio/events.py:80)"
COLLAPSED = (
    f"{LOOP};handler (app/api.py:10);query (app/db.py:5) 6\n"
    f"{LOOP};handler (app/api.py:12) 3\n"
    "Thread.run (threading.py:982);span (otel/trace.py:7) 1\n"
)


def test_inclusive_and_own_shares_of_the_samples() -> None:
    summary = summarise(COLLAPSED)
    assert summary["samples"] == 10
    inclusive = dict(summary["inclusive_pct"])
    assert inclusive == {"handler (app/api.py)": 90.0, "query (app/db.py)": 60.0, "span (otel/trace.py)": 10.0}
    own = dict(summary["own_pct"])
    assert own == {"query (app/db.py)": 60.0, "handler (app/api.py)": 30.0, "span (otel/trace.py)": 10.0}


def test_each_sample_counts_for_the_component_of_its_innermost_known_frame() -> None:
    collapsed = (
        f"{LOOP};handle (onepool_orders/grpc_api.py:3);fetch (asyncpg/connection.py:9);helper (x.py:1) 5\n"
        f"{LOOP};handle (onepool_orders/grpc_api.py:3);execute (sqlalchemy/engine/base.py:4) 3\n"
        f"{LOOP};unary (onepool_runtime/pipeline.py:86) 1\n"
        "Runner.run (asyncio/runners.py:118) 1\n"
    )
    components = dict(summarise(collapsed)["components_pct"])
    assert components == {
        "asyncpg": 50.0,
        "SQLAlchemy": 30.0,
        "runtime: call pipeline": 10.0,
        "event loop: native I/O, or waiting (uvloop, gRPC core)": 10.0,
    }


def test_no_samples_no_ranking() -> None:
    assert summarise("") == {"samples": 0, "inclusive_pct": [], "own_pct": [], "components_pct": []}
