"""Which receipt lines publish new promised units when the waiting line moves (domain only, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onepool_inventory.domain.expected import PublishedPromise, moved_promises

SOON = datetime(2030, 1, 1, tzinfo=UTC)
LATER = SOON + timedelta(days=7)
KEY = ("TEA", "WH")


def line(receipt_id: str, at: datetime, remaining: int, promised: int, sku: str = "TEA") -> PublishedPromise:
    return PublishedPromise(receipt_id, sku, "WH", at, remaining, promised)


def test_waiting_units_fill_the_soonest_receipt_first_and_only_changed_lines_are_published() -> None:
    lines = [line("late", LATER, 10, 0), line("soon", SOON, 4, 4)]
    # 6 wait: the soonest receipt promises its 4 (as published), the later one 2 (published as 0).
    assert moved_promises({KEY: 6}, lines) == {("late", "TEA"): 2}
    assert moved_promises({KEY: 4}, lines) == {}


def test_a_release_or_fill_gives_promised_units_back() -> None:
    lines = [line("soon", SOON, 4, 4), line("late", LATER, 10, 3)]
    assert moved_promises({KEY: 0}, lines) == {("soon", "TEA"): 0, ("late", "TEA"): 0}


def test_a_line_with_nothing_left_to_bring_promises_nothing() -> None:
    assert moved_promises({KEY: 5}, [line("done", SOON, 0, 2), line("next", LATER, 5, 3)]) == {
        ("done", "TEA"): 0,
        ("next", "TEA"): 5,
    }


def test_lines_elsewhere_are_left_alone() -> None:
    assert moved_promises({KEY: 5}, [line("cups", SOON, 5, 1, sku="CUP")]) == {}
