"""Count the pairs of repeated code between source files of different services (issue 10 item 6).

Run from the repository root: ``python tests/contract/cross_service_duplicates.py [--list]``.
It calls the ``duplicates`` command (a developer tool on PATH, not a project dependency) over
``services/`` and keeps the pairs whose two sides are in different services, neither being a test
or a migration. Prints the count (and, with ``--list``, the rows). Fails (exit 2) when
``duplicates`` is missing or its answer was cut (``incomplete:`` or ``(+N more pairs)``), so a
number it prints is always the whole count.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROW = re.compile(r"^D\d+ (?P<a>\S+):\d+-\d+ ~ (?P<b>\S+):\d+-\d+")


def _is_source(path: str) -> bool:
    parts = path.split("/")
    return "tests" not in parts and "migrations" not in parts and not parts[-1].startswith("test_")


def cross_service_pairs(output: str) -> list[str]:
    rows = []
    for line in output.splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        a, b = match["a"], match["b"]
        if a.split("/")[0] != b.split("/")[0] and _is_source(a) and _is_source(b):
            rows.append(line)
    return rows


def main() -> int:
    if shutil.which("duplicates") is None:
        print("the `duplicates` command is not on PATH", file=sys.stderr)
        return 2
    services = Path(__file__).resolve().parents[2] / "services"
    # Only source files go to the tool: tests and migrations repeat each other within a service by design,
    # and counted with them the tree has more pairs than the tool lists at most (200), so the answer was cut.
    with tempfile.TemporaryDirectory() as tree:
        for path in services.rglob("*.py"):
            relative = path.relative_to(services)
            if _is_source(relative.as_posix()):
                target = Path(tree) / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        output = subprocess.run(
            ["duplicates", "--repo", tree, "--most", "200", "--seconds", "300"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    if "incomplete:" in output or re.search(r"\(\+\d+ more pairs\)", output):
        print(output, file=sys.stderr)
        print("the duplicates answer was cut: the count would be partial", file=sys.stderr)
        return 2
    rows = cross_service_pairs(output)
    if "--list" in sys.argv:
        print("\n".join(rows))
    print(f"{len(rows)} cross-service pairs in source files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
