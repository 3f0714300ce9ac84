"""The transactions API's query parameters: a clear 400 naming the parameter, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.api.transactions import BadRequest, parse_window

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_default_window_is_the_last_24_hours() -> None:
    assert parse_window({}, NOW) == (NOW - timedelta(hours=24), NOW)


def test_dates_and_times_with_or_without_zone_are_accepted() -> None:
    start, end = parse_window({"from": "2026-11-20", "to": "2026-11-21T10:00:00Z"}, NOW)
    assert start == datetime(2026, 11, 20, tzinfo=UTC) and end == datetime(2026, 11, 21, 10, tzinfo=UTC)


def test_times_with_an_offset_are_read_as_the_same_instant_in_utc() -> None:
    start, end = parse_window({"from": "2026-11-20T01:00:00+02:00", "to": "2026-11-20T10:00:00-05:00"}, NOW)
    assert (start, end) == (datetime(2026, 11, 19, 23, tzinfo=UTC), datetime(2026, 11, 20, 15, tzinfo=UTC))
    assert start.tzinfo is UTC and end.tzinfo is UTC


@pytest.mark.parametrize(("params", "name", "words"), [
    ({"from": "yesterday"}, "from", "ISO 8601"),
    ({"to": "2026-13-40"}, "to", "ISO 8601"),
    ({"from": "2026-11-22", "to": "2026-11-21"}, "from", "not be later"),
    ({"from": "2026-09-01", "to": "2026-11-21"}, "from", "31 days"),
    # Datetime arithmetic at the ends of the calendar overflowed into a 500.
    ({"from": "", "to": "0001-01-01"}, "to", "between 2000-01-01"),
    ({"to": "0001-01-01T00:00:00+01:00"}, "to", "between"),
    ({"from": "9999-12-31T23:59:59-01:00"}, "from", "between"),
    ({"from": "1999-12-31"}, "from", "between"),
])
def test_bad_or_reversed_dates_name_the_parameter(params: dict[str, str], name: str, words: str) -> None:
    with pytest.raises(BadRequest, match=words) as info:
        parse_window(params, NOW)
    assert info.value.parameter == name
