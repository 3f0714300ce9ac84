"""A deal the batch cannot read gets a transaction of its own (refused with the reason), once per change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.connectors.hubspot_mapping import to_deal
from shared.connectors.hubspot_models import HubSpotObject
from shared.connectors.ports import DealPage
from shared.sync import discovery

SINCE = datetime(2026, 12, 1, tzinfo=UTC)


def _raw(deal_id: str, minute: int, **props: str) -> HubSpotObject:
    return HubSpotObject(id=deal_id, properties={
        "dealname": f"D{deal_id}", "dealstage": "closedwon", "deal_currency_code": "EUR",
        "hs_lastmodifieddate": f"2026-12-01T10:{minute:02d}:00Z", **props})


class RawSearchCrm:
    """A search that maps each result as the HubSpot connector does: one bad deal fails the whole page."""

    def __init__(self, objects: list[HubSpotObject]) -> None:
        self.objects = objects

    def search_deals(self, since: datetime, stage: str, after: str | None = None, limit: int = 100) -> DealPage:
        start = int(after or 0)
        chunk = self.objects[start:start + limit]
        nxt = str(start + limit) if start + limit < len(self.objects) else None
        return DealPage(deals=[to_deal(o) for o in chunk], next_after=nxt)


def _find(crm: RawSearchCrm, rows: dict[str, list[dict[str, Any]]]) -> discovery.FindDealsResult:
    return discovery.find_deals(
        discovery.FindDealsInput(since=SINCE, stage="closedwon", limit=10), crm,  # type: ignore[arg-type]
        has_transaction=lambda d, when: discovery.has_transaction(rows.get(d, []), when),
        generation=lambda d: discovery.next_generation(d, rows.get(d, [])))


def _objects() -> list[HubSpotObject]:
    return [_raw("1", 1), _raw("2", 2, deal_currency_code="euro"), _raw("3", 3, deal_currency_code=" eur ")]


def test_an_unreadable_deal_is_started_like_any_other_and_reported_with_the_crms_words() -> None:
    found = _find(RawSearchCrm(_objects()), {})
    assert sorted((d.id, d.generation) for d in found.deals) == [("1", 1), ("2", 1), ("3", 1)]
    [bad] = found.unreadable
    assert bad.deal_id == "2" and "property deal_currency_code" in bad.message and "'euro'" in bad.message
    assert found.max_modified == "2026-12-01T10:03:00+00:00"  # the unreadable one is covered as well


def test_an_unreadable_deal_unchanged_since_its_refused_transaction_is_not_started_again() -> None:
    refused = [{"id": "deal-2", "status": "compensated", "started_at": "2026-12-01T10:05:00+00:00",
                "updated_at": "2026-12-01T10:05:01+00:00"}]
    found = _find(RawSearchCrm(_objects()), {"2": refused})
    assert [d.id for d in found.deals] == ["1", "3"] and found.skipped == 1


def test_an_unreadable_deal_changed_after_its_refused_transaction_gets_the_next_generation() -> None:
    refused = [{"id": "deal-2", "status": "compensated", "started_at": "2026-12-01T09:00:00+00:00",
                "updated_at": "2026-12-01T09:00:01+00:00"}]
    found = _find(RawSearchCrm(_objects()), {"2": refused})
    assert ("2", 2) in [(d.id, d.generation) for d in found.deals]


def test_an_unreadable_deal_without_a_readable_modified_time_is_started_once_only() -> None:
    objects = [_raw("5", 1, deal_currency_code="euro", hs_lastmodifieddate="someday")]
    assert [d.id for d in _find(RawSearchCrm(objects), {}).deals] == ["5"]
    refused = [{"id": "deal-5", "status": "compensated", "started_at": "2026-12-01T09:00:00+00:00",
                "updated_at": "2026-12-01T09:00:01+00:00"}]
    assert _find(RawSearchCrm(objects), {"5": refused}).deals == []


def test_modified_times_are_read_as_iso_or_epoch_milliseconds() -> None:
    assert discovery._modified("1764583200000") == datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
    assert discovery._modified(" 2026-12-01T10:00:00Z ") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert discovery._modified("") is None and discovery._modified("soon") is None
