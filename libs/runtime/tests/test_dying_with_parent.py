"""`embedded.dying_with_parent`: a child started through it is the command itself (same process, so a kill
reaches it), and it dies with the process that started it, as `preexec_fn=die_with_parent` made it do."""

from __future__ import annotations

import subprocess
import sys
import time

PARENT = """
import subprocess, sys
from onepool_runtime.embedded import dying_with_parent
child = subprocess.Popen(dying_with_parent(["sleep", "60"]))
print(child.pid, flush=True)
sys.stdin.readline()  # until the test closes stdin; then this parent exits without waiting for its child
"""


def _command(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline") as cmdline:
        return cmdline.read().split("\0")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_the_child_is_the_command_and_dies_with_its_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdin is not None
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 10
    while _command(child)[:2] != ["sleep", "60"]:  # the interpreter setting the signal, then the command
        assert time.monotonic() < deadline, f"the child never became the command: {_command(child)}"
        time.sleep(0.02)

    parent.stdin.close()
    parent.wait(10)
    deadline = time.monotonic() + 10
    while _alive(child):
        assert time.monotonic() < deadline, "the child outlived its parent"
        time.sleep(0.05)
