"""The import rule, checked statically: a domain imports only the standard library, the shared kernel and its
own service's domain; the kernel imports only the standard library and itself.

So no domain module reaches grpc, nats, SQLAlchemy/SQLModel, protobuf, the generated contracts (`onepool.*`)
or the runtime (`onepool_runtime`, which carries all of those), not even under TYPE_CHECKING or inside a
function. The sources are parsed, not imported, so a violation is found even on a path no test executes.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "onepool_kernel"
STDLIB = frozenset(sys.stdlib_module_names)
# Named in the failure message so a reader sees at once which infrastructure leaked in.
INFRASTRUCTURE = ("grpc", "nats", "sqlalchemy", "sqlmodel", "google", "onepool", "onepool_runtime", "asyncpg")


def imported_modules(path: Path, package: str) -> Iterator[tuple[int, str]]:
    """Every module `path` imports, as an absolute dotted name (relative imports resolved against `package`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                yield node.lineno, ".".join([*base, node.module] if node.module else base)
            else:
                yield node.lineno, node.module or ""


def _package_of(path: Path, src: Path) -> str:
    rel = path.relative_to(src).with_suffix("")
    parts = rel.parts if rel.name == "__init__" else rel.parts[:-1]
    return ".".join(p for p in parts if p != "__init__")


def _allowed(module: str, own_prefixes: tuple[str, ...]) -> bool:
    top = module.split(".")[0]
    if top in STDLIB or top == "__future__":
        return True
    return any(module == p or module.startswith(p + ".") for p in own_prefixes)


def violations(root: Path) -> tuple[int, list[str]]:
    """(files checked, one line per forbidden import)."""
    found: list[str] = []
    checked = 0
    layers: list[tuple[Path, Path, tuple[str, ...]]] = []
    for domain in sorted(root.glob("services/*/src/*/domain")):
        src = domain.parent.parent
        layers.append((domain, src, (KERNEL, f"{domain.parent.name}.domain")))
    kernel = root / "libs/kernel/src" / KERNEL
    layers.append((kernel, kernel.parent, (KERNEL,)))
    for directory, src, own in layers:
        for path in sorted(directory.rglob("*.py")):
            checked += 1
            for line, module in imported_modules(path, _package_of(path, src)):
                if not _allowed(module, own):
                    top = module.split(".")[0]
                    why = "infrastructure" if top in INFRASTRUCTURE else "not the kernel or this domain"
                    found.append(f"{path.relative_to(root)}:{line} imports {module} ({why})")
    return checked, found


def test_domains_and_the_kernel_import_no_infrastructure() -> None:
    checked, found = violations(ROOT)
    assert not found, "the import rule is broken:\n" + "\n".join(found)
    assert checked >= 5 * 4 + 5  # every service's domain and the kernel were really read


def test_the_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The scanner itself: plain, from, relative, nested and TYPE_CHECKING imports are all caught."""
    domain = tmp_path / "services/shop/src/onepool_shop/domain"
    domain.mkdir(parents=True)
    (tmp_path / "libs/kernel/src" / KERNEL).mkdir(parents=True)
    (domain / "__init__.py").write_text("")
    (domain / "model.py").write_text(
        "from __future__ import annotations\n"
        "import dataclasses\n"
        "from typing import TYPE_CHECKING\n"
        "from onepool_kernel.errors import InvalidArgument\n"
        "from . import events\n"
        "from ..adapters import orm\n"
        "import grpc\n"
        "if TYPE_CHECKING:\n"
        "    from onepool.orders.v1 import orders_pb2\n"
        "def f():\n"
        "    from onepool_runtime.errors import NotFound\n"
        "    import sqlalchemy.orm\n"
    )
    _, found = violations(tmp_path)
    modules = sorted(line.split(" imports ")[1].split(" ")[0] for line in found)
    assert modules == ["grpc", "onepool.orders.v1", "onepool_runtime.errors", "onepool_shop.adapters", "sqlalchemy.orm"]
