"""Tables the operator tools print, whole wherever they go.

Not a terminal (a pipe into grep or less, a log file, `kubectl exec` without a TTY), rich lays a table out in
80 columns: long consumer names, subjects and URLs fold over lines or lose their ends ("http://127.0.0.1:5…"),
and a `grep` finds half a row. There the table is as wide as it needs; a terminal keeps its own width.
"""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

# Wide enough for any row the tools print; rich lays a table out no wider than its content needs.
MAX_WIDTH = 1_000


def print_table(console: Console, table: Table) -> None:
    if console.is_terminal:
        console.print(table)
        return
    needed = Measurement.get(console, console.options.update_width(MAX_WIDTH), table).maximum
    Console(file=console.file, width=max(console.width, needed)).print(table)
