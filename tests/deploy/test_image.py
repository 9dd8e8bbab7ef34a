"""The Dockerfile: one multi-stage image for every service, built from uv.lock without dev tools or the embedded
PostgreSQL/NATS wheels, running as a non-root user, whose entry point is the real `onepool` command."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import yaml
from onepool_cli.main import app
from onepool_cli.services import BY_NAME, SERVICES
from onepool_gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined, comments dropped and ARG defaults expanded."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    parsed, args = [], {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        rest = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest.strip())
        if keyword.upper() == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value.strip('"')
        parsed.append((keyword.upper(), rest))
    return parsed


def last(keyword: str) -> str:
    return [rest for kw, rest in instructions() if kw == keyword][-1]


def onepool_commands() -> set[str]:
    return {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands if c.callback}


def test_contract_ports_are_the_services_defaults(contract_ports: dict[str, int]) -> None:
    """Checking manifests against the contract's ports is checking them against the code."""
    import importlib

    defaults = {
        svc.name: getattr(importlib.import_module(f"{svc.package}.settings"), svc.settings_class)
        .model_fields["grpc_port"]
        .default
        for svc in SERVICES
    }
    assert defaults == contract_ports


def test_entrypoint_is_the_onepool_command_of_the_cli_package() -> None:
    scripts = tomllib.loads((ROOT / "libs/cli/pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["onepool"] == "onepool_cli.main:app"
    assert json.loads(last("ENTRYPOINT")) == ["onepool"]
    cmd = json.loads(last("CMD"))
    assert cmd == ["--help"] or cmd[0] in onepool_commands()


def test_every_container_command_is_a_real_onepool_command() -> None:
    """What compose and the Kubernetes manifests pass to the entry point: `migrate`, `serve <service>` or
    `gateway`."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = [s["command"] for n, s in compose.items() if n not in ("postgres", "nats", "prometheus", "grafana")]
    for manifest in (ROOT / "deploy/base").glob("*.yaml"):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if doc and doc["kind"] in ("Deployment", "Job"):
                commands += [c["args"] for c in doc["spec"]["template"]["spec"]["containers"]]
    assert len(commands) == 14  # compose: migrate, five services, gateway; Kubernetes: the same
    for command in commands:
        assert command[0] in onepool_commands(), command
        if command[0] == "serve":
            assert len(command) == 2 and command[1] in BY_NAME, command
        if command[0] == "gateway":
            assert command == ["gateway"]


def test_image_is_multi_stage_and_synced_from_the_lock_without_dev_tools() -> None:
    assert len([kw for kw, _ in instructions() if kw == "FROM"]) >= 2
    syncs = [shlex.split(rest) for kw, rest in instructions() if kw == "RUN" and "uv sync" in rest]
    assert syncs
    for words in syncs:
        assert {"--frozen", "--no-dev"} <= set(words)


def test_image_leaves_out_exactly_the_embedded_servers() -> None:
    """PostgreSQL and NATS come from compose/Kubernetes; the runtime's `embedded` extra is for `onepool up`
    and the tests. If the extra changes, this says which packages the image should now leave out."""
    extra = tomllib.loads((ROOT / "libs/runtime/pyproject.toml").read_text())["project"]["optional-dependencies"]
    embedded = {re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0] for req in extra["embedded"]}
    for kw, rest in instructions():
        if kw == "RUN" and "uv sync" in rest:
            assert set(re.findall(r"--no-install-package (\S+)", rest)) == embedded


def test_every_workspace_member_is_copied_for_the_dependency_layer() -> None:
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    members = {p.parent.relative_to(ROOT) for g in workspace for p in ROOT.glob(f"{g}/pyproject.toml")}
    copied = {rest.split()[0] for kw, rest in instructions() if kw == "COPY" and "--from" not in rest}
    assert len(members) == 10  # contracts, kernel, runtime, cli, the five services and the gateway
    assert {f"{m}/pyproject.toml" for m in members} <= copied


def test_runs_as_the_same_non_root_uid_the_manifests_require() -> None:
    uid = last("USER").split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    for name in [*BY_NAME, "gateway"]:
        (deployment,) = [
            d for d in yaml.safe_load_all((ROOT / f"deploy/base/{name}.yaml").read_text()) if d["kind"] == "Deployment"
        ]
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def test_image_exposes_the_contract_ports(contract_ports: dict[str, int], gateway_port: int) -> None:
    assert {int(p) for p in last("EXPOSE").split()} == {*contract_ports.values(), gateway_port}
    assert GatewaySettings.model_fields["gateway_port"].default == gateway_port


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build_context() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", ".onepool"} <= ignored
