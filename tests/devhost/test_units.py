"""Unit-level checks of the NCRONTAB parser, route templates and the action flattening."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devhost.cron import parse_schedule
from devhost.engine import flatten_actions
from devhost.http_triggers import compile_route

T0 = datetime(2024, 1, 1, 0, 3, 7, tzinfo=UTC)  # a Monday


def test_ncrontab_six_fields_and_names() -> None:
    assert parse_schedule("0 */5 * * * *").next_after(T0) == datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
    assert parse_schedule("30 0 9 * * MON-FRI").next_after(T0) == datetime(2024, 1, 1, 9, 0, 30, tzinfo=UTC)
    assert parse_schedule("0 0 0 * * SAT").next_after(T0).weekday() == 5


def test_ncrontab_resolves_app_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SCHEDULE", "*/10 * * * * *")
    assert parse_schedule("%MY_SCHEDULE%").next_after(T0).second == 10


def test_ncrontab_rejects_five_fields() -> None:
    with pytest.raises(ValueError):
        parse_schedule("*/5 * * * *")


def test_route_templates_with_optional_and_catch_all() -> None:
    r = compile_route("orders/{id}/{part?}")
    assert r.match("/orders/7").groupdict() == {"id": "7", "part": None}
    assert r.match("/orders/7/lines").groupdict() == {"id": "7", "part": "lines"}
    assert compile_route("files/{*path}").match("/files/a/b/c").group("path") == "a/b/c"
    assert compile_route("items/{id:int}").match("/ITEMS/3") is not None


def test_flatten_skips_compound_wrappers_depth_first() -> None:
    actions = [
        [
            {
                "actionType": 12,
                "compoundActions": [
                    {"actionType": 0, "functionName": "a"},
                    {"actionType": 11, "compoundActions": [{"actionType": 6}, {"actionType": 5}]},
                ],
            },
            {"actionType": 9},
        ]
    ]
    assert [a["actionType"] for a in flatten_actions(actions)] == [0, 6, 5, 9]
