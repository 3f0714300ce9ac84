"""The incremental cursor of the scheduled batch: the ``sync_cursor`` entity's reducer (moves only forward)."""

from __future__ import annotations

from typing import Any

CURSOR_KEY = "hubspot-deals"


def apply_cursor(state: dict[str, Any] | None, operation: str | None, value: Any) -> dict[str, Any]:
    """``set`` moves ``since`` forward, never back (an old batch finishing late must not rewind it); any other
    operation (the SDK types an entity's operation name as optional) leaves the cursor as it is."""
    current = dict(state or {"since": "", "updated_at": ""})
    if operation == "set" and isinstance(value, dict):
        since = str(value.get("since", ""))
        current["since"] = max(current["since"], since)  # ISO-8601 UTC strings of one format sort as time
        current["updated_at"] = str(value.get("at", current["updated_at"]))
    elif operation == "reset" and isinstance(value, dict):
        current = {"since": str(value.get("since", "")), "updated_at": str(value.get("at", ""))}
    return current
