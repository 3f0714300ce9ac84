"""The Xero simulator's fixed organisation data (tax rates, accounts, currencies) and Xero's date forms."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "ACCOUNT_CODES", "API", "CURRENCIES", "INVOICE_STATUSES", "NAMESPACE", "TAX_RATES", "ms_date", "ms_now",
    "parse_date",
]

API = "/api.xro/2.0"
TAX_RATES = {
    "OUTPUT": Decimal("0.15"),
    "OUTPUT2": Decimal("0.20"),
    "NONE": Decimal("0"),
    "EXEMPTOUTPUT": Decimal("0"),
    "TAX001": Decimal("0.0825"),
}
ACCOUNT_CODES = {"200", "260", "400", "4000", "4100"}
CURRENCIES = {"USD", "EUR", "GBP", "AUD", "NZD", "CAD", "JPY"}
INVOICE_STATUSES = {"DRAFT", "SUBMITTED", "AUTHORISED"}
NAMESPACE = uuid.UUID("6f1e6a52-0c55-4d8e-9d2a-6c0f3f1b7a10")


def ms_date(day: date) -> str:
    return f"/Date({int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)}+0000)/"


def ms_now() -> str:
    return f"/Date({int(time.time() * 1000)}+0000)/"


def parse_date(value: Any) -> date | None:
    """A request's date as Xero reads it: ``YYYY-MM-DD[T...]`` or its own ``/Date(ms+zone)/``."""
    if not value:
        return None
    text = str(value)
    if text.startswith("/Date("):
        ms = int(re.split(r"[)+-]", text[6:], maxsplit=1)[0] or "x")
        return datetime.fromtimestamp(ms / 1000, tz=UTC).date()
    return date.fromisoformat(text[:10])
