"""The app's local settings as a dict, for tests that run the app's code with a chosen environment."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def sample_settings() -> dict[str, str]:
    values = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    return {str(k): str(v) for k, v in values.items()}
