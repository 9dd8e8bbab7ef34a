"""CPU time and memory of processes, read from /proc (Linux only).

PostgreSQL's CPU is its whole tree: the postmaster, its live backends, and (through the postmaster's
cutime/cstime) backends that already exited, so connections closed during a run are still counted.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()  # the command name may contain spaces and parentheses


def cpu_seconds(pid: int, *, with_reaped_children: bool = False) -> float:
    """utime + stime (and cutime + cstime when asked) of one process, in seconds; 0 if it is gone."""
    try:
        f = _stat_fields(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(f[11]) + int(f[12])  # fields 14 and 15 of proc(5), counted after pid and comm
    if with_reaped_children:
        ticks += int(f[13]) + int(f[14])
    return ticks / TICKS


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    """A server and its children (PostgreSQL backends), including children that have exited."""
    return cpu_seconds(pid, with_reaped_children=True) + sum(cpu_seconds(c) for c in children(pid))


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except FileNotFoundError:
        return 0


def machine() -> dict[str, object]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_mb": mem_kb // 1024,
        "kernel": os.uname().release,
        "loadavg_at_start": os.getloadavg(),
    }
