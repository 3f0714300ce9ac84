"""The scheduled batch: pages of won deals, bounded fan-out, and a cursor that only moves past started deals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrators.batch_sync import batch_sync
from shared import names
from shared.connectors.ports import DealPage
from shared.domain.models import Deal, SyncMarkers
from shared.sync import discovery
from shared.sync.cursor import CURSOR_KEY, apply_cursor
from tests.support.fake_durable import NEVER, FakeDurableContext

T0 = datetime(2026, 11, 1, tzinfo=UTC)


class PagedCrm:
    """A CRM search over ``n`` won deals, ``page`` at a time (HubSpot's ``after`` is an offset)."""

    def __init__(self, n: int, synced: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.deals = [Deal(id=str(100 + i), name=f"D{i}", stage="closedwon", last_modified=T0 + timedelta(minutes=i),
                           markers=SyncMarkers(sync_status="synced" if str(100 + i) in synced else ""))
                      for i in range(n)]
        self.searches: list[tuple[datetime, str | None]] = []

    def search_deals(self, since: datetime, stage: str, after: str | None = None, limit: int = 100) -> DealPage:
        self.searches.append((since, after))
        matching = [d for d in self.deals if d.last_modified and d.last_modified >= since]
        start = int(after or 0)
        chunk = matching[start:start + limit]
        nxt = str(start + limit) if start + limit < len(matching) else None
        return DealPage(deals=chunk, next_after=nxt)


def run_batch(crm: PagedCrm, *, known: set[str] = frozenset(), concurrency: int = 3,  # type: ignore[assignment]
              page_size: int = 4, fail: set[str] = frozenset(),  # type: ignore[assignment]
              cursor: dict[str, Any] | None = None,
              skipped_rows: dict[str, list[dict[str, Any]]] | None = None,
              waiting: set[str] = frozenset(),  # type: ignore[assignment]
              mapping_check: dict[str, Any] | None = None,
              ) -> tuple[list[FakeDurableContext], dict[str, Any]]:
    cursor = cursor if cursor is not None else {"state": None}

    def cursor_entity(op: str, value: Any) -> Any:
        cursor["state"] = apply_cursor(cursor["state"], op, value) if op != "get" else cursor["state"]
        return cursor["state"]

    known = set(known)  # a started transaction writes its ledger row: the search then finds it has one

    def deal_sync(instance_id: str, payload: dict[str, Any]) -> Any:
        known.add(payload["deal_id"])
        if payload["deal_id"] in fail:
            raise RuntimeError("already running")
        if payload["deal_id"] in waiting:
            return NEVER  # needs a person: the sub-orchestration does not end
        return {"status": "completed"}

    def find(payload: dict[str, Any]) -> dict[str, Any]:
        rows = skipped_rows or {}
        return discovery.find_deals(discovery.FindDealsInput.model_validate(payload), crm,  # type: ignore[arg-type]
                                    has_transaction=lambda d, _modified: d in known,
                                    generation=lambda d: discovery.next_generation(d, rows.get(d, []))
                                    ).model_dump(mode="json")

    contexts: list[FakeDurableContext] = []
    payload: Any = {"page_size": page_size, "concurrency": concurrency}
    result: Any = None
    checked = mapping_check or {"ok": True, "result": {"checked": False}}
    for _ in range(20):
        ctx = FakeDurableContext(activities={names.FIND_DEALS: find, names.CHECK_MAPPING: lambda _p: checked},
                                 input=payload, instance_id="batch-sync",
                                 sub_orchestrators={names.DEAL_SYNC: deal_sync},
                                 entities={(names.SYNC_CURSOR, CURSOR_KEY): cursor_entity})
        result = ctx.run(batch_sync(ctx))
        contexts.append(ctx)
        for entity, key, op, value in ctx.signals:  # one-way signals reach the entity after the episode
            if (entity, key) == (names.SYNC_CURSOR, CURSOR_KEY):
                cursor_entity(op, value)
        if ctx.continued_with is None:
            break
        payload = ctx.continued_with
    return contexts, {"result": result, "cursor": cursor["state"]}


def started(contexts: list[FakeDurableContext]) -> list[str | None]:
    return [instance for ctx in contexts for _, instance, _ in ctx.sub_calls]


def test_every_won_deal_starts_once_with_its_transaction_id_and_bounded_concurrency() -> None:
    contexts, out = run_batch(PagedCrm(10))
    assert started(contexts) == [f"deal-{100 + i}" for i in range(10)]
    assert max(n for ctx in contexts for n in ctx.all_batches) == 3  # never more than the concurrency
    assert len(contexts) == 3  # one page per execution, continued as new
    assert out["result"]["started"] == 10 and out["result"]["pages"] == 3


def test_cursor_advances_to_the_newest_deal_started() -> None:
    _, out = run_batch(PagedCrm(10))
    assert out["cursor"]["since"] == (T0 + timedelta(minutes=9)).isoformat()


def test_next_batch_searches_from_the_cursor_and_starts_only_new_deals() -> None:
    crm = PagedCrm(6)
    cursor: dict[str, Any] = {"state": None}
    run_batch(crm, cursor=cursor)
    crm.searches.clear()
    crm.deals.append(Deal(id="900", name="new", stage="closedwon", last_modified=T0 + timedelta(hours=1)))
    # Deals of the first batch now have transactions, as the ledger would say.
    second, _ = run_batch(crm, cursor=cursor, known={d.id for d in crm.deals[:6]})
    assert crm.searches[0][0] == T0 + timedelta(minutes=5)  # the newest deal of the first batch
    assert started(second) == ["deal-900"]


def test_deals_already_synced_or_with_a_transaction_are_skipped() -> None:
    contexts, out = run_batch(PagedCrm(6, synced={"101"}), known={"103"})
    assert started(contexts) == ["deal-100", "deal-102", "deal-104", "deal-105"]
    assert out["result"]["skipped"] == 2


def test_a_deal_already_running_does_not_stop_the_batch() -> None:
    contexts, out = run_batch(PagedCrm(5), fail={"101"})
    assert started(contexts) == [f"deal-{100 + i}" for i in range(5)]
    assert out["result"]["failed_starts"] == 1
    assert out["cursor"]["since"] == (T0 + timedelta(minutes=4)).isoformat()


def test_cursor_never_moves_back() -> None:
    state = apply_cursor(None, "set", {"since": "2026-11-02T00:00:00+00:00"})
    assert apply_cursor(state, "set", {"since": "2026-11-01T00:00:00+00:00"})["since"] == "2026-11-02T00:00:00+00:00"


def test_a_search_that_fails_transiently_is_retried_and_the_batch_goes_on() -> None:
    crm = PagedCrm(3)
    original = crm.search_deals
    failures = {"left": 2}

    def flaky(*args: Any, **kwargs: Any) -> DealPage:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("HubSpot 503")
        return original(*args, **kwargs)

    crm.search_deals = flaky  # type: ignore[method-assign]
    contexts, _ = run_batch(crm)
    assert started(contexts) == ["deal-100", "deal-101", "deal-102"]
    assert contexts[0].timers == [2.0, 4.0]


def test_a_search_that_keeps_failing_ends_the_batch_without_moving_the_cursor() -> None:
    crm = PagedCrm(3)

    def down(*args: Any, **kwargs: Any) -> DealPage:
        raise RuntimeError("HubSpot 503")

    crm.search_deals = down  # type: ignore[method-assign]
    contexts, out = run_batch(crm)
    assert started(contexts) == []
    assert "HubSpot 503" in out["result"]["error"]
    assert out["cursor"] is None


def test_a_deal_whose_earlier_transactions_were_skipped_is_started_as_its_next_generation() -> None:
    # The ledger says deal 101 was skipped twice before it was won (its creation, a stage set and undone).
    rows = {"101": [{"id": "deal-101", "status": "skipped"}, {"id": "deal-101-g2", "status": "skipped"}]}
    contexts, _ = run_batch(PagedCrm(3), skipped_rows=rows)
    assert started(contexts) == ["deal-100", "deal-101-g3", "deal-102"]
    inputs = {instance: payload for ctx in contexts for _, instance, payload in ctx.sub_calls}
    assert inputs["deal-101-g3"]["generation"] == 3 and inputs["deal-100"]["generation"] == 1


def test_the_next_generation_reads_only_the_deals_own_transaction_ids() -> None:
    rows = [{"id": "deal-7-g4"}, {"id": "deal-7"}, {"id": "deal-77-g9"}, {"id": "deal-7-g03"}, {"id": "junk"}]
    assert discovery.next_generation("7", rows) == 5
    assert discovery.next_generation("7", []) == 1


def test_deals_waiting_for_a_person_do_not_hold_the_batch_or_the_next_schedule() -> None:
    # Groups of 3: 100-102 (101 waits), 103-105 (105 waits), 106-108 (106 waits), 109.
    contexts, out = run_batch(PagedCrm(10), waiting={"101", "105", "106"}, page_size=10)
    assert started(contexts) == [f"deal-{100 + i}" for i in range(10)]  # every deal started
    assert out["result"] is not None and out["result"]["released"] == 3  # and the batch ended
    assert out["cursor"]["since"] == (T0 + timedelta(minutes=9)).isoformat()
    assert max(n for ctx in contexts for n in ctx.all_batches) == 3
    assert [t for ctx in contexts for t in ctx.timers] == [600.0] * 3  # each group was given 10 minutes


def test_a_group_that_finishes_does_not_wait_for_its_release_timer() -> None:
    contexts, out = run_batch(PagedCrm(8), concurrency=2, page_size=8)
    assert [n for ctx in contexts for n in ctx.all_batches] == [2, 2, 2, 2]
    assert [t for ctx in contexts for t in ctx.timers] == [] and out["result"]["released"] == 0


def test_a_mapping_the_organisation_refuses_starts_no_deal_and_the_batch_says_which_entry() -> None:
    crm = PagedCrm(5)
    refusal = {"kind": "business", "code": "mapping_code_missing",
               "message": 'tax_types_by_product["SKU-1"]: tax type "NOPE" is not an active tax rate'}
    contexts, out = run_batch(crm, mapping_check={"ok": False, "error": refusal})
    assert started(contexts) == [] and crm.searches == []
    assert out["result"]["error"]["code"] == "mapping_code_missing"
    assert 'tax_types_by_product["SKU-1"]' in out["result"]["error"]["message"]
    assert out["cursor"] is None  # nothing moved: the next batch starts from the same place


def test_a_scheduled_batch_s_deals_queue_for_their_wave_s_batch_instead_of_going_alone() -> None:
    # A wave's first deal finds nothing queued; alone it would cost its own Xero calls at every step.
    contexts, _ = run_batch(PagedCrm(4))  # waves of 3 (the concurrency), then a wave of one
    solo = [payload["policy"]["batch_solo"] for ctx in contexts for _, _, payload in ctx.sub_calls]
    assert solo == [False, False, False, True]  # alone in its wave, a deal waits for nobody
