"""The finance team's invoice mapping: parsed strictly naming the bad entry, one pure choice of codes per
line, and the organisation's codes read once per TTL (never once per deal) and checked entry by entry."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.errors import BusinessRejection
from shared.domain.invoice_mapping import MappingRules, build_invoice
from shared.domain.line_codes import choose_line_codes
from shared.domain.mapping_file import InvoiceMapping, MappingError, deal_properties_of, parse_mapping
from shared.domain.models import Deal, LineItem, Tracking
from shared.domain.org_catalogue import OrgCatalogue
from shared.sync.org_check import OrgCache, check_deal, check_mapping, mapping_problems

MAPPING = {
    "default_account_code": "4000",
    "default_tax_type": "OUTPUT",
    "tax_types_by_tax_group": {"group-7": "EXEMPTOUTPUT"},
    "tax_types_by_product": {"SKU-1": "OUTPUT2", "555": "NONE"},
    "account_codes_by_product": {"SKU-1": "4100"},
    "item_codes_by_sku": {"SKU-1": "WIDGET"},
    "tracking": [{"category": "Region", "deal_property": "region"},
                 {"category": "Channel", "deal_property": "sales_channel"}],
    "branding_theme": "Modern",
}
TODAY = date(2026, 11, 2)
ORG = OrgCatalogue(tax_types=frozenset({"OUTPUT", "OUTPUT2", "NONE", "EXEMPTOUTPUT"}),
                   account_codes=frozenset({"200", "4000", "4100"}), item_codes=frozenset({"WIDGET", "SKU-9"}),
                   tracking={"Region": frozenset({"North", "South"}), "Channel": frozenset({"Partner"})},
                   branding_themes={"ab12-theme": "Modern"}, currencies=frozenset({"EUR", "USD"}))


def rules(mapping: dict[str, Any] | None = None) -> MappingRules:
    return MappingRules(mapping=parse_mapping(json.dumps(MAPPING if mapping is None else mapping)))


def deal(**props: str) -> Deal:
    return Deal(id="42", name="Renewal", stage="closedwon", currency="EUR", amount=Decimal(100),
                company_ids=("c1",), properties=props)


def item(sku: str | None = None, *, product: str | None = None, group: str | None = None) -> LineItem:
    return LineItem(id="l1", name="Licence", quantity=Decimal(1), unit_price=Decimal(10), sku=sku,
                    product_id=product, tax_rate_group_id=group)


# --- parsing ---


def test_no_mapping_keeps_the_invoice_settings_as_they_were() -> None:
    assert parse_mapping("") == InvoiceMapping() and parse_mapping("  ").is_empty
    codes = choose_line_codes(item("SKU-1"), deal(), MappingRules(account_code="260", tax_type="TAX001"))
    assert (codes.account_code, codes.tax_type, codes.item_code, codes.tracking) == ("260", "TAX001", None, ())


@pytest.mark.parametrize(("mapping", "named"), [
    ({"tax_types_by_product": {"SKU-1": ""}}, 'tax_types_by_product["SKU-1"]: must be a code'),
    ({"tax_types_by_product": {"SKU-1": 7}}, 'tax_types_by_product["SKU-1"]: must be a text code'),
    ({"account_codes_by_product": {"": "200"}}, 'account_codes_by_product[""]: the key is empty'),
    ({"item_codes_by_sku": ["SKU-1"]}, "item_codes_by_sku: must be an object"),
    ({"default_tax_type": "x" * 51}, "default_tax_type: must be a code of 1 to 50"),
    ({"tracking": [{"category": "Region", "deal_property": "Region Name"}]}, "tracking[0].deal_property"),
    ({"tracking": [{"category": "A", "deal_property": "a"}, {"category": "B", "deal_property": "b"},
                   {"category": "C", "deal_property": "c"}]}, "tracking: at most 2 categories"),
    ({"tracking": [{"category": "A", "deal_property": "a"}, {"category": "A", "deal_property": "b"}]},
     "tracking: a category is named twice"),
    ({"tax_type_by_product": {}}, "tax_type_by_product: Extra inputs are not permitted"),
    ({"sku_as_item_code": "maybe"}, "sku_as_item_code:"),
])
def test_a_malformed_entry_is_refused_naming_the_entry(mapping: dict[str, Any], named: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_mapping(json.dumps(mapping))
    assert named in str(caught.value) and str(caught.value).startswith("INVOICE_MAPPING")


def test_mapping_text_that_is_not_a_json_object_is_refused_saying_so() -> None:
    with pytest.raises(MappingError, match=r"is not JSON: .* line 1"):
        parse_mapping('{"default_tax_type": ')
    with pytest.raises(MappingError, match="must be a JSON object"):
        parse_mapping('["OUTPUT"]')


def test_the_crm_reads_the_deal_properties_the_tracking_rules_name_and_none_for_a_bad_mapping() -> None:
    assert deal_properties_of(json.dumps(MAPPING)) == ("region", "sales_channel")
    assert deal_properties_of("{not json") == ()


# --- the choice of codes per line ---


def test_a_product_entry_beats_the_tax_group_which_beats_the_mapping_default() -> None:
    r = rules()
    assert choose_line_codes(item("SKU-1", group="group-7"), deal(), r).tax_type == "OUTPUT2"
    assert choose_line_codes(item(product="555", group="group-7"), deal(), r).tax_type == "NONE"
    by_group = choose_line_codes(item("OTHER", group="group-7"), deal(), r)
    assert (by_group.tax_type, by_group.tax_source) == ("EXEMPTOUTPUT", 'tax_types_by_tax_group["group-7"]')
    plain = choose_line_codes(item("OTHER"), deal(), r)
    assert (plain.tax_type, plain.tax_source, plain.account_code) == ("OUTPUT", "default_tax_type", "4000")


def test_account_and_item_code_come_from_the_product_entries() -> None:
    codes = choose_line_codes(item("SKU-1"), deal(), rules())
    assert (codes.account_code, codes.account_source) == ("4100", 'account_codes_by_product["SKU-1"]')
    assert (codes.item_code, codes.item_source) == ("WIDGET", 'item_codes_by_sku["SKU-1"]')


def test_the_sku_is_the_item_code_only_when_asked_and_the_organisation_has_that_item() -> None:
    r = rules({"sku_as_item_code": True})
    assert choose_line_codes(item("SKU-9"), deal(), r).item_code is None  # organisation not read yet
    known = replace(r, org_items=ORG.item_codes)
    assert choose_line_codes(item("SKU-9"), deal(), known).item_code == "SKU-9"
    assert choose_line_codes(item("SKU-404"), deal(), known).item_code is None


def test_tracking_options_are_the_deal_property_values_and_an_empty_property_leaves_the_category_out() -> None:
    codes = choose_line_codes(item(), deal(region="North", sales_channel="Partner"), rules())
    assert codes.tracking == (Tracking(name="Region", option="North"), Tracking(name="Channel", option="Partner"))
    assert choose_line_codes(item(), deal(region=" "), rules()).tracking == ()


def test_the_invoice_carries_the_line_codes_the_tracking_and_the_branding_theme() -> None:
    r = check_mapping(rules(), lambda: ORG)
    draft = build_invoice(deal(region="South"), (item("SKU-1"),), "cust", TODAY, r)
    [line] = draft.lines
    assert (line.account_code, line.tax_type, line.item_code) == ("4100", "OUTPUT2", "WIDGET")
    assert line.tracking == (Tracking(name="Region", option="South"),)
    assert draft.branding_theme_id == "ab12-theme"
    amount_only = build_invoice(deal(region="North"), (), "cust", TODAY, r)
    assert amount_only.lines[0].tracking == (Tracking(name="Region", option="North"),)


# --- against the organisation ---


def test_every_mapped_code_the_organisation_lacks_is_named_by_its_entry() -> None:
    bad = {**MAPPING, "tax_types_by_product": {"SKU-1": "GST_ON_NOTHING"}, "item_codes_by_sku": {"SKU-2": "GONE"},
           "tracking": [{"category": "Department", "deal_property": "dept"}], "branding_theme": "Retro"}
    problems = mapping_problems(rules(bad), ORG)
    assert problems == [
        'tax_types_by_product["SKU-1"]: tax type "GST_ON_NOTHING" is not an active tax rate of the organisation',
        'item_codes_by_sku["SKU-2"]: item "GONE" is not an item the organisation sells',
        'tracking[0].category: "Department" is not an active tracking category of the organisation',
        'branding_theme: "Retro" is not a branding theme of the organisation',
    ]
    with pytest.raises(BusinessRejection) as caught:
        check_mapping(rules(bad), lambda: ORG)
    assert caught.value.code == "mapping_code_missing" and 'tax_types_by_product["SKU-1"]' in str(caught.value)


def test_an_unreadable_mapping_refuses_every_deal_without_asking_the_organisation() -> None:
    broken = MappingRules(invalid='INVOICE_MAPPING: tax_types_by_product["SKU-1"]: must be a code')

    def never() -> OrgCatalogue:
        raise AssertionError("the organisation is not read")

    with pytest.raises(BusinessRejection) as caught:
        check_mapping(broken, never)
    assert caught.value.code == "invalid_mapping" and 'tax_types_by_product["SKU-1"]' in str(caught.value)


def test_without_a_mapping_the_organisation_is_never_read() -> None:
    def never() -> OrgCatalogue:
        raise AssertionError("the organisation is not read")

    assert check_mapping(MappingRules(), never) == MappingRules()
    check_deal(deal(), (item("SKU-1"),), MappingRules(), never)


@pytest.mark.parametrize(("the_deal", "items", "named"), [
    (deal(region="West"), (item(),), '"West" is not an active option of tracking category "Region"'),
    (deal().model_copy(update={"currency": "JPY"}), (item(),), "currency JPY is not one of the organisation's"),
])
def test_a_deal_whose_lines_need_a_missing_code_is_refused_naming_code_and_entry(
    the_deal: Deal, items: tuple[LineItem, ...], named: str,
) -> None:
    with pytest.raises(BusinessRejection) as caught:
        check_deal(the_deal, items, check_mapping(rules(), lambda: ORG), lambda: ORG)
    assert named in str(caught.value) and caught.value.code == "mapping_code_missing"
    if "tracking" in named:
        assert "tracking[0] (deal property region)" in str(caught.value)


def test_a_settings_default_the_organisation_lacks_names_the_setting() -> None:
    r = replace(rules({"tracking": [{"category": "Region", "deal_property": "region"}]}), tax_type="TAX001")
    assert mapping_problems(r, ORG) == [
        'INVOICE_TAX_TYPE: tax type "TAX001" is not an active tax rate of the organisation']


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_organisation_is_read_once_per_ttl_however_many_deals_ask() -> None:
    reads: list[float] = []
    clock = Clock()

    def read() -> OrgCatalogue:
        reads.append(clock.now)
        return ORG

    cache = OrgCache(read, ttl=600, clock=clock)
    r = rules()
    for _ in range(50):  # fifty deals of a batch
        check_deal(deal(region="North"), (item("SKU-1"),), check_mapping(r, cache), cache)
    assert reads == [1000.0]
    clock.now += 599
    cache()
    assert len(reads) == 1
    clock.now += 1
    cache()
    assert reads == [1000.0, 1600.0]
    cache.forget()
    cache()
    assert len(reads) == 3


def test_concurrent_deals_share_the_one_read_in_progress() -> None:
    reads: list[int] = []

    def slow_read() -> OrgCatalogue:
        reads.append(1)
        time.sleep(0.05)
        return ORG

    cache = OrgCache(slow_read)
    threads = [threading.Thread(target=cache) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reads == [1]


def test_a_batch_the_mapping_stops_logs_one_attention_line_the_alert_rule_parses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from shared.sync.activities import Ports, check_invoice_mapping

    bad = rules({"item_codes_by_sku": {"SKU-2": "GONE"}})
    ports = Ports(crm=None, accounting=None, rules=bad, trigger_stage="closedwon",  # type: ignore[arg-type]
                  org=lambda: ORG)
    with caplog.at_level(logging.WARNING), pytest.raises(BusinessRejection):
        check_invoice_mapping(ports)
    [line] = [r.getMessage() for r in caplog.records if "sync attention:" in r.getMessage()]
    assert line.startswith("sync attention: status=mapping_refused transaction=batch-sync service=sync ")
    assert 'item_codes_by_sku[\\"SKU-2\\"]' in line
    good = Ports(crm=None, accounting=None, rules=rules(), trigger_stage="closedwon",  # type: ignore[arg-type]
                 org=lambda: ORG)
    assert check_invoice_mapping(good) == {"checked": True}
