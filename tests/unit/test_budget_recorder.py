"""The daily budget row: written rarely, at once when it runs low, and never raised again by a late answer."""

from __future__ import annotations

from shared.connectors.xero_token_store import BudgetRecorder, DailyBudget


class Store:
    def __init__(self) -> None:
        self.written: list[int] = []

    def put_budget(self, budget: DailyBudget) -> None:
        self.written.append(budget.remaining)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def recorder() -> tuple[BudgetRecorder, Store, Clock]:
    store, clock = Store(), Clock()
    return BudgetRecorder(store, every=15, low=50, clock=clock), store, clock  # type: ignore[arg-type]


def test_a_budget_used_up_stays_shown_empty_when_answers_sent_before_it_arrive_late() -> None:
    record, store, clock = recorder()
    record(4)
    record(0)  # the daily 429: nothing left
    record(3)  # an answer Xero sent before the 429, read after it
    assert store.written == [4, 0]
    clock.now += 20  # the calls waited for the reset: the first answer after it sees calls given back
    record(12)
    assert store.written == [4, 0]  # the 0 stays while the page catches up
    clock.now += 15
    record(30)
    assert store.written == [4, 0, 30]


def test_calls_far_from_the_limit_are_written_once_every_fifteen_seconds() -> None:
    record, store, clock = recorder()
    for left in (900, 899, 898):
        record(left)
    clock.now += 15
    record(897)
    assert store.written == [900, 897]


def test_a_budget_write_that_failed_is_tried_again_by_the_next_answer() -> None:
    record, store, _ = recorder()
    record(40)
    failing = store.put_budget

    def refuse(budget: DailyBudget) -> None:
        raise ConnectionError("storage away")

    store.put_budget = refuse  # type: ignore[method-assign]
    record(0)
    store.put_budget = failing  # type: ignore[method-assign]
    record(0)
    assert store.written == [40, 0]
