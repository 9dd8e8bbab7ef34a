"""Fulfillment has one spelling: the protos' (fulfill, fulfills, fulfillment), in code, protos and docs.

A few stored values keep their first spelling because changing them would change what they identify: the
ledger's "fulfilment_fee" account and rule (and the entry keys built from it), the orders outbox's "fulfil"
kind, and the "orders:fulfil:" idempotency key sent to inventory. Those are listed here by file; any other
"fulfil"/"fulfilment" is a new second name for the same thing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECOND_SPELLING = re.compile(r"fulfil(?!l)", re.IGNORECASE)
# Stored values, by the spelling of the whole word they appear in.
KEPT = re.compile(r"fulfilment_fee|FULFILMENT_FEE_BPS|\"fulfil\"|'fulfil'|orders:fulfil:")


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    paths = []
    for name in listed.splitlines():
        if name.startswith("seeds/") or "/migrations/versions/" in name or name.endswith("_pb2.py"):
            continue  # the business documents, applied migrations and generated code are history or copies
        if Path(name).suffix in {".py", ".proto", ".md", ".yaml", ".yml", ".pyi", ".toml"} or name == "Makefile":
            paths.append(ROOT / name)
    return paths


def test_fulfillment_is_spelled_one_way_outside_stored_values() -> None:
    seconds = []
    for path in _tracked_text_files():
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if SECOND_SPELLING.search(KEPT.sub("", line)):
                seconds.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not seconds, "spell it fulfill / fulfillment:\n" + "\n".join(seconds)
