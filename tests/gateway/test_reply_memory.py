"""The largest reply the gateway takes fits the memory its pod is given (docs/gateway.md "Message sizes").

The gateway holds a reply and writes it as JSON in memory, which peaks at about 42 times the reply's size (an
audit measured ~126 MB for a 3 MB reply). A 64 MiB reply limit under a 384Mi pod limit meant one large
answer could have the pod killed, taking every call in flight with it.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from onepool_gateway.settings import GatewaySettings

GATEWAY_MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "base" / "gateway.yaml"
MI = 1024 * 1024
UNITS = {"Ki": 1024, "Mi": MI, "Gi": 1024 * MI}

# 42 measured; replies written with every field at its default (jsoncodec.py) peak ~10% higher.
JSON_PEAK_PER_REPLY_BYTE = 46
PROCESS_OWN = 128 * MI  # measured ~100 MiB: Python, grpc, protobuf, the contracts, Starlette
LARGEST_REPLIES_AT_ONCE = 2
# GetAvailability for 500 SKUs (the portal's page) over 200 stores: it must still pass.
KNOWN_LARGEST_REPLY = 5_000_000


def _bytes(quantity: str) -> int:
    for suffix, unit in UNITS.items():
        if quantity.endswith(suffix):
            return int(quantity.removesuffix(suffix)) * unit
    return int(quantity)


def test_the_largest_replies_written_at_once_fit_the_gateways_memory_limit() -> None:
    deployment = next(d for d in yaml.safe_load_all(GATEWAY_MANIFEST.read_text()) if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    limit = _bytes(container["resources"]["limits"]["memory"])
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    reply_max = int(env.get("ONEPOOL_GATEWAY_REPLY_MAX_BYTES") or GatewaySettings().gateway_reply_max_bytes)

    assert reply_max >= KNOWN_LARGEST_REPLY
    needed = PROCESS_OWN + LARGEST_REPLIES_AT_ONCE * JSON_PEAK_PER_REPLY_BYTE * reply_max
    assert needed <= limit, f"{reply_max} byte replies need {needed // MI} Mi, the pod may use {limit // MI} Mi"
