"""The finance team's invoice mapping (setting ``INVOICE_MAPPING``, inline JSON): codes per product and tax group.

One JSON object, set once; every entry is checked when the app reads it, and a malformed one is named
in the error (``tax_types_by_product["SKU-1"]: ...``), so that a typo never reaches an invoice.

    {"default_account_code": "200", "default_tax_type": "OUTPUT",
     "tax_types_by_tax_group": {"<hs_tax_rate_group_id>": "<Xero TaxType>"},
     "tax_types_by_product": {"<hs_sku or hs_product_id>": "<Xero TaxType>"},
     "account_codes_by_product": {"<hs_sku or hs_product_id>": "<Xero account code>"},
     "item_codes_by_sku": {"<hs_sku>": "<Xero ItemCode>"}, "sku_as_item_code": false,
     "tracking": [{"category": "Region", "deal_property": "region"}],
     "branding_theme": "<BrandingThemeID or name>"}
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.config import ConfigError

MAX_TRACKING = 2  # Xero: at most two tracking categories per line
_CODE_FIELDS = ("default_account_code", "default_tax_type")
_MAP_FIELDS = ("tax_types_by_tax_group", "tax_types_by_product", "account_codes_by_product", "item_codes_by_sku")


class MappingError(ConfigError):
    """The mapping setting is malformed; the message names the entry."""


def _code(value: str) -> str:
    text = value.strip()
    if not text or len(text) > 50 or any(not ch.isprintable() for ch in text):
        raise ValueError("must be a code of 1 to 50 printable characters")
    return text


class TrackingRule(BaseModel):
    """A tracking category filled from a deal property: the option is the property's value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    deal_property: str = Field(pattern=r"^[a-z0-9_]{1,100}$")

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return _code(value)


class InvoiceMapping(BaseModel):
    """The parsed mapping; every field is optional (absent: the INVOICE_* settings decide)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_account_code: str | None = None
    default_tax_type: str | None = None
    tax_types_by_tax_group: dict[str, str] = Field(default_factory=dict)
    tax_types_by_product: dict[str, str] = Field(default_factory=dict)
    account_codes_by_product: dict[str, str] = Field(default_factory=dict)
    item_codes_by_sku: dict[str, str] = Field(default_factory=dict)
    # Use a line's hs_sku as its ItemCode when the organisation has such an item (no entry needed).
    sku_as_item_code: bool = False
    tracking: tuple[TrackingRule, ...] = ()
    branding_theme: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == InvoiceMapping()

    def deal_properties(self) -> tuple[str, ...]:
        """The deal properties the tracking rules read (the CRM adapter asks for them)."""
        return tuple(dict.fromkeys(rule.deal_property for rule in self.tracking))


def _entry_name(loc: tuple[Any, ...]) -> str:
    """Pydantic's location as the entry a person edits: ``tracking[0].category``, ``item_codes_by_sku["A"]``."""
    if not loc:
        return "mapping"
    name = str(loc[0])
    for part in loc[1:]:
        if isinstance(part, int):
            name += f"[{part}]"
        elif loc[0] in _MAP_FIELDS:
            name += f"[{json.dumps(str(part))}]"
        else:
            name += f".{part}"
    return name


def parse_mapping(raw: str) -> InvoiceMapping:
    """The mapping from its JSON text ("" is no mapping); ``MappingError`` naming each bad entry."""
    if not raw.strip():
        return InvoiceMapping()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MappingError(f"INVOICE_MAPPING is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise MappingError("INVOICE_MAPPING must be a JSON object")
    problems = _entry_problems(data)
    if problems:
        raise MappingError("INVOICE_MAPPING: " + "; ".join(problems))
    try:
        return InvoiceMapping.model_validate(data)
    except ValidationError as exc:
        parts = [f"{_entry_name(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise MappingError("INVOICE_MAPPING: " + "; ".join(parts)) from None


def _entry_problems(data: dict[str, Any]) -> list[str]:
    """Code values checked one by one, so that the message names the key a person typed."""
    problems: list[str] = []
    for name in _CODE_FIELDS:
        value = data.get(name)
        if value is not None:
            problems += _check_code(name, value)
    for name in _MAP_FIELDS:
        entries = data.get(name)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            problems.append(f"{name}: must be an object of key to code")
            continue
        for key, value in entries.items():
            entry = f"{name}[{json.dumps(key)}]"
            if not key.strip():
                problems.append(f"{entry}: the key is empty")
            problems += _check_code(entry, value)
    tracking = data.get("tracking")
    if isinstance(tracking, list):
        if len(tracking) > MAX_TRACKING:
            problems.append(f"tracking: at most {MAX_TRACKING} categories (Xero's limit per line), not {len(tracking)}")
        names = [t.get("category") for t in tracking if isinstance(t, dict)]
        if len(names) != len(set(names)):
            problems.append("tracking: a category is named twice")
    theme = data.get("branding_theme")
    if theme is not None:
        problems += _check_code("branding_theme", theme, max_len=255)
    return problems


def _check_code(entry: str, value: Any, *, max_len: int = 50) -> list[str]:
    if not isinstance(value, str):
        return [f"{entry}: must be a text code, not {type(value).__name__}"]
    text = value.strip()
    if not text or len(text) > max_len or any(not ch.isprintable() for ch in text):
        return [f"{entry}: must be a code of 1 to {max_len} printable characters"]
    return []


def deal_properties_of(raw: str) -> tuple[str, ...]:
    """The deal properties a mapping's tracking rules read; none for a mapping that cannot be read
    (that one refuses every deal anyway, saying why)."""
    try:
        return parse_mapping(raw).deal_properties()
    except MappingError:
        return ()
