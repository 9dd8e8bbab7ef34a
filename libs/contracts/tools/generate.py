"""Regenerate the Python contracts from protos/ (what `make proto` runs).

Usage: python libs/contracts/tools/generate.py [OUT_DIR]

Writes *_pb2.py, *_pb2_grpc.py and *.pyi for every .proto under protos/ into OUT_DIR (default
libs/contracts/src), plus an empty __init__.py in every package directory so the tree is a regular package.
The committed output must equal a fresh run: tests/contract/test_generated_code.py checks it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[3]
PROTOS = ROOT / "protos"


def generate(out_dir: Path) -> list[Path]:
    protos = sorted(p.relative_to(PROTOS).as_posix() for p in PROTOS.rglob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--pyi_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package_dir in {(out_dir / p).parent for p in protos}:
        d = package_dir
        while d != out_dir:
            (d / "__init__.py").touch()
            d = d.parent
    return sorted(p for p in out_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "libs" / "contracts" / "src"
    files = generate(target)
    print(f"generated {len(files)} files under {target}")
