"""`buf breaking` against the previous commit of main (libs/contracts/tools/breaking.py, run by `make lint`).

The first test is the check itself on this repository, so `make test` (what CI runs) refuses a change to
protos/ that breaks the contract main had. The others run the tool on small real git repositories: a deleted
field is refused with buf's finding, an added one passes, and a first commit or a shallow clone is skipped
with a message saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "libs/contracts/tools/breaking.py"
BUF_YAML = (ROOT / "protos/buf.yaml").read_text()

PROTO = """syntax = "proto3";

package demo.v1;

message Thing {
  string id = 1;
%s}
"""


def run(repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "BUF_AGAINST"} | env
    return subprocess.run(
        [sys.executable, str(TOOL), "--repo", str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit(repo: Path, fields: str, message: str) -> None:
    proto = repo / "protos/demo/v1/thing.proto"
    proto.parent.mkdir(parents=True, exist_ok=True)
    proto.write_text(PROTO % fields)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "protos").mkdir(parents=True)
    (repo / "protos/buf.yaml").write_text(BUF_YAML)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "  string name = 2;\n", "first")
    return repo


def test_this_repository_breaks_nothing_main_had() -> None:
    result = run(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "buf breaking: no breaking change against" in result.stdout or "skipped" in result.stdout


def test_a_deleted_field_is_refused_and_an_added_one_is_not(repo: Path) -> None:
    commit(repo, "  string name = 2;\n  int64 size = 3;\n", "add size")
    added = run(repo)
    assert added.returncode == 0, added.stdout + added.stderr
    assert "no breaking change against" in added.stdout and "the previous commit" in added.stdout

    commit(repo, "  int64 size = 3;\n", "drop name")
    deleted = run(repo)
    assert deleted.returncode != 0
    assert 'Previously present field "2" with name "name" on message "Thing" was deleted' in deleted.stdout
    assert "break the contract" in deleted.stderr


def test_a_branch_is_compared_with_where_it_left_main(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "  string name = 2;\n  bool big = 4;\n", "feature adds big")
    git(repo, "checkout", "-q", "main")
    commit(repo, "  string name = 2;\n  int64 size = 3;\n", "main adds size")
    git(repo, "checkout", "-q", "feature")
    # Against main's tip the branch would seem to delete `size`; against where it left main it breaks nothing.
    result = run(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "where this branch left main" in result.stdout


def test_the_first_commit_and_a_shallow_clone_are_skipped_with_the_reason(repo: Path, tmp_path: Path) -> None:
    first = run(repo)
    assert first.returncode == 0
    assert "skipped" in first.stdout and "first commit" in first.stdout

    commit(repo, "  int64 size = 3;\n", "drop name")  # breaking, but a depth-1 clone cannot know
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    result = run(shallow)
    assert result.returncode == 0
    assert "shallow clone" in result.stdout and "git fetch --deepen=1" in result.stdout
