"""Unit-level checks of the NCRONTAB parser, route templates and the action flattening."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devhost.actions import ActionType, action_type, flatten_actions
from devhost.cron import parse_schedule
from devhost.determinism import nondeterminism_message
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


def test_action_types_have_the_sdks_names_and_numbers() -> None:
    from azure.durable_functions.models.actions.ActionType import ActionType as SdkActionType

    sdk = {member.name: int(member) for member in SdkActionType}
    ours = {member.name: int(member) for member in ActionType if member is not ActionType.SCHEDULED_SIGNAL_ENTITY}
    assert ours == sdk


def test_unknown_action_types_decode_to_none() -> None:
    assert action_type({"actionType": 10}) is ActionType.SCHEDULED_SIGNAL_ENTITY
    assert action_type({"actionType": 42}) is None
    assert action_type({}) is None


@pytest.mark.parametrize(
    ("kind", "start"),
    [
        ("activity", "an activity task with sequence ID 3 "),
        ("timer", "a timer task with sequence number 3 "),
        ("suborch", "a sub-orchestration task with sequence ID 3 "),
        ("event", "a send event task with sequence ID 3, "),
    ],
)
def test_a_recorded_action_the_replay_dropped_gets_the_dtfx_text_of_its_kind(kind: str, start: str) -> None:
    message = nondeterminism_message({"id": 3, "n": "x", "k": kind}, None, {"InstanceId": "child"})
    assert message is not None and message.startswith("A previous execution of this orchestration scheduled " + start)
    assert "hasn't (yet?) scheduled this task" in message


def test_a_replay_that_matches_or_an_unchecked_kind_gives_no_message() -> None:
    same = {"k": "activity", "n": "X", "cls": "ScheduleTaskOrchestratorAction"}
    assert nondeterminism_message({"id": 0, "n": "x", "k": "activity"}, same, {}) is None
    assert nondeterminism_message({"id": 0, "n": "", "k": "wait"}, None, {}) is None
