"""Function names: the wire contract between triggers, orchestrators, activities and entities.

An orchestration's history records these strings; renaming one breaks every in-flight instance,
so they change only with a migration plan.
"""

from __future__ import annotations

# --- HTTP triggers ---
HEALTH = "health"

# Every registered function and its trigger type, for the wiring test.
REGISTERED: dict[str, str] = {
    HEALTH: "httpTrigger",
}
