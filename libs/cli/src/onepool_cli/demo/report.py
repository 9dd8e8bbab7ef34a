"""Print a Story for a person: each flow's orders and what happened, stock per location before and after,
each channel's sellable numbers, every party's statement. Every number printed comes from the Story (money in
yuan from integer fen), so the acceptance test that checks the Story checks what is printed."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from onepool_cli.demo.story import Story


def yuan(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}¥{abs(minor) // 100:,}.{abs(minor) % 100:02d}"


def print_story(story: Story, console: Console) -> None:
    brand = story.brand
    console.rule(f"[bold]OnePool demo, run {brand.run}")
    for flow in story.flows:
        console.print(f"\n[bold cyan]{flow.number}. {flow.title}")
        if flow.orders:
            table = Table(show_edge=False, pad_edge=False)
            for column in ("order", "lines", "total", "status", "from"):
                table.add_column(column)
            for o in flow.orders:
                table.add_row(o.label, o.lines, yuan(o.total_minor), o.status, ", ".join(o.locations) or "-")
            console.print(table)
        for fact in flow.facts:
            console.print(f"  • {fact}")
    _stock(story, console)
    _sellable(story, console)
    _statements(story, console)


def _stock(story: Story, console: Console) -> None:
    table = Table(title="Stock per location: on hand / reserved / available, before -> after", title_justify="left")
    table.add_column("location")
    for sku in story.brand.skus:
        table.add_column(sku, justify="right")
    for location in story.brand.locations:
        cells = []
        for sku in story.brand.skus:
            b, a = story.stock_before[(location, sku)], story.stock_after[(location, sku)]
            cells.append(f"{b.on_hand}/{b.reserved}/{b.available} -> {a.on_hand}/{a.reserved}/{a.available}")
        table.add_row(location, *cells)
    console.print()
    console.print(table)


def _sellable(story: Story, console: Console) -> None:
    table = Table(title="Sellable per channel (its stock feed), before -> after", title_justify="left")
    table.add_column("channel")
    for sku in story.brand.skus:
        table.add_column(sku, justify="right")
    for channel in story.brand.channels:
        cells = [
            f"{story.sellable_before[(channel, s)]} -> {story.sellable_after[(channel, s)]}" for s in story.brand.skus
        ]
        table.add_row(channel, *cells)
    console.print()
    console.print(table)


def _statements(story: Story, console: Console) -> None:
    table = Table(title="Statements for the run (positive: the ledger owes the party)", title_justify="left")
    for column in ("party", "lines", "this run", "opening", "closing"):
        table.add_column(column, justify="left" if column == "party" else "right")
    for party, s in story.statements.items():
        table.add_row(party, str(s.lines), yuan(s.change_minor), yuan(s.opening_minor), yuan(s.closing_minor))
    table.add_row("[bold]sum", "", f"[bold]{yuan(story.statements_sum_minor)}", "", "")
    console.print()
    console.print(table)
    console.print(
        f"Reconcile: {story.orders_settled} orders settled, ledger sum {yuan(story.ledger_sum_minor)}, "
        f"{story.discrepancies} discrepancies"
    )
