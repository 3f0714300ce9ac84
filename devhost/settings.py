"""Loading `local.settings.json` Values into the environment, without overriding variables already set."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def find_settings_file(app_dir: Path, explicit: str | None) -> Path | None:
    """The explicit file, else `local.settings.json`, else `local.settings.sample.json`, else None."""
    if explicit:
        return Path(explicit)
    for name in ("local.settings.json", "local.settings.sample.json"):
        candidate = app_dir / name
        if candidate.is_file():
            return candidate
    return None


def apply_settings(path: Path | None) -> dict[str, str]:
    """Put the file's `Values` into os.environ (existing variables win). Returns what was applied."""
    if path is None:
        return {}
    data: Any = json.loads(path.read_text(encoding="utf-8-sig"))
    values = data.get("Values", {}) if isinstance(data, dict) else {}
    applied: dict[str, str] = {}
    if isinstance(values, dict):
        for key, value in values.items():
            if key in os.environ or value is None:
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            os.environ[key] = text
            applied[key] = text
    return applied


def read_host_json(app_dir: Path) -> dict[str, Any]:
    """host.json as a dict ({} when absent or invalid)."""
    path = app_dir / "host.json"
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
