"""The Grafana dashboard (deploy/components/monitoring/onepool-dashboard.json) queries only metrics the services
export, and covers what an operator needs at night.

The exported names are not written down here: every instrument the services record to (the runtime's meter,
onepool_runtime.metrics) is recreated on a private MeterProvider whose reader is the same Prometheus exporter
the services run, fed one value each, and the exposition it renders is read back. So a renamed instrument,
a changed unit (which changes the suffix) or a dashboard typo fails here. tests/observability/
test_metrics_and_logs.py and tests/platform/test_onepool_up.py scrape real service processes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from onepool_orders.entrypoints import waiting_gauges  # noqa: F401  (its instruments, on the runtime's meter)
from onepool_orders.service_layer import stock_sync  # noqa: F401
from onepool_runtime import metrics as runtime_metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, generate_latest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/components/monitoring/onepool-dashboard.json"


def queries(dashboard: dict[str, Any]) -> list[str]:
    found = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    found += [v["definition"] for v in dashboard["templating"]["list"] if v.get("definition")]
    return found


def queried_metrics() -> set[str]:
    return {name for expr in queries(json.loads(DASHBOARD.read_text())) for name in re.findall(r"\bonepool_\w+", expr)}


def exported_metrics() -> set[str]:
    """Series names the Prometheus exporter renders for every instrument of the runtime's meter."""
    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    meter = provider.get_meter("onepool")
    instruments = runtime_metrics.meter._instruments  # type: ignore[attr-defined]
    assert len(instruments) >= 10
    for proxy in instruments:
        kind, name, unit = type(proxy).__name__, proxy._name, proxy._unit
        if kind == "_ProxyCounter":
            meter.create_counter(name, unit=unit).add(1, {"k": "v"})
        elif kind == "_ProxyHistogram":
            meter.create_histogram(name, unit=unit).record(0.02, {"k": "v"})
        elif kind == "_ProxyObservableGauge":

            def observe(_: CallbackOptions) -> list[Observation]:
                return [Observation(1, {"k": "v"})]

            meter.create_observable_gauge(name, [observe], unit=unit)
        else:
            raise AssertionError(f"{kind} {name}: teach this test how to record it")
    text = generate_latest(registry).decode()
    provider.shutdown()
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    queried, exported = queried_metrics(), exported_metrics()
    assert queried, "the dashboard queries nothing"
    assert queried <= exported, f"not exported by any service: {sorted(queried - exported)}"


def test_the_dashboard_shows_what_an_operator_needs() -> None:
    queried = queried_metrics()
    needs = {
        "RPC rate and errors by method": "onepool_rpc_requests_total",
        "RPC latency by method": "onepool_rpc_duration_seconds_bucket",
        "reservations accepted/refused": "onepool_inventory_reservations_total",
        "outbox backlog": "onepool_outbox_backlog",
        "outbox age": "onepool_outbox_oldest_age_seconds",
        "consumer lag": "onepool_consumer_lag",
        "dead letters": "onepool_consumer_dead_letters_total",
        "orders waiting by state": "onepool_orders_waiting",
        "oldest waiting order": "onepool_orders_waiting_oldest_age_seconds",
        "waiting gauges stale": "onepool_orders_waiting_read_age_seconds",
        "stock requests inventory refused": "onepool_orders_stock_requests_refused_total",
    }
    missing = [need for need, metric in needs.items() if metric not in queried]
    assert not missing, missing
    exprs = " ".join(queries(json.loads(DASHBOARD.read_text())))
    assert "by (rpc_method" in exprs and 'rpc_grpc_status_code!="OK"' in exprs and "histogram_quantile" in exprs


def test_the_dashboard_is_valid_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] == "OnePool"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"]), panel["title"]
            assert panel["datasource"]["uid"] == "${datasource}"
