"""`buf breaking` for protos/ against the previous commit of main (`make lint`; `make test` runs it too, through
tests/contract/test_buf_breaking.py, so CI's `make test` checks it).

What it compares against (BUF_AGAINST=<revision> overrides):
- on main, or a branch with no commits of its own: HEAD~1, the main before the last commit or merge;
- on a branch: the commit where it left main (`git merge-base HEAD main`), so what main gained meanwhile is
  not mistaken for something the branch deleted.
That revision's protos/ are extracted with `git archive` into a temporary directory and given to buf as a
directory, so git worktrees and clones behave alike. The rules are protos/buf.yaml's `breaking` section.

Failure modes: a breaking change -> exit 1 with buf's findings; buf itself failing -> its exit code and
message; nothing to compare against (the first commit, a shallow clone without the parent, not a git
checkout) -> a notice saying why and how to get the history (`git fetch --deepen=1`), exit 0.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PROTOS = "protos"


def git(repo: Path, *args: str) -> str | None:
    """stdout of a git command, or None when it fails."""
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def baseline(repo: Path) -> tuple[str | None, str]:
    """The revision to compare against, and how it was chosen (or why there is none)."""
    if os.environ.get("BUF_AGAINST"):
        return os.environ["BUF_AGAINST"], "BUF_AGAINST"
    head = git(repo, "rev-parse", "HEAD")
    if head is None:
        return None, "not a git checkout with commits"
    base = git(repo, "merge-base", "HEAD", "main")
    if base and base != head:
        return base, "where this branch left main"
    parent = git(repo, "rev-parse", "--verify", "--quiet", "HEAD~1^{commit}")
    if parent:
        return parent, "the previous commit"
    if git(repo, "rev-parse", "--is-shallow-repository") == "true":
        return None, "a shallow clone without the previous commit (run `git fetch --deepen=1` to check it)"
    return None, "the first commit: there is no previous one"


def extract(repo: Path, revision: str, into: Path) -> bool:
    """protos/ as it was at `revision`, under `into`; False when that revision had no protos/."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", revision, PROTOS], capture_output=True, check=False
    )
    if archive.returncode != 0:
        return False
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return (into / PROTOS / "buf.yaml").is_file()


def buf_binary() -> str:
    beside = Path(sys.executable).parent / "buf"  # buf-bin from PyPI, in the project's environment
    return str(beside) if beside.exists() else (shutil.which("buf") or "buf")


def check(repo: Path) -> int:
    revision, why = baseline(repo)
    if revision is None:
        print(f"buf breaking: skipped, nothing to compare against: {why}.")
        return 0
    short = git(repo, "rev-parse", "--short", revision) or revision
    with tempfile.TemporaryDirectory(prefix="buf-against-") as tmp:
        if not extract(repo, revision, Path(tmp)):
            print(f"buf breaking: skipped, {short} ({why}) has no {PROTOS}/buf.yaml.")
            return 0
        result = subprocess.run(
            [buf_binary(), "breaking", "--against", str(Path(tmp) / PROTOS)], cwd=repo / PROTOS, check=False
        )
    if result.returncode == 0:
        print(f"buf breaking: no breaking change against {short} ({why}).")
    else:
        print(f"buf breaking: the changes above break the contract of {short} ({why}).", file=sys.stderr)
    return result.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[3])
    return check(parser.parse_args().repo.resolve())


if __name__ == "__main__":
    sys.exit(main())
