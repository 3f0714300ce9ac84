"""HubSpot's checks of a write: property names, types and values, and the portal's validation rules."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from simulators.hubspot.schema import READ_ONLY
from simulators.hubspot.search import to_ms
from simulators.hubspot.state import HubSpotStore

__all__ = ["HubSpotValidation"]


class HubSpotValidation(HubSpotStore):
    """What a create or update is refused for, and HubSpot's 400 answer listing it."""

    @staticmethod
    def type_error(kind: str, value: Any) -> tuple[str, str] | None:
        """(error code, message) when ``value`` cannot be stored in a property of type ``kind``, as HubSpot says."""
        if value in (None, ""):
            return None  # clearing a property is always allowed
        text = str(value).strip()
        if kind == "date":
            if text.isdigit():
                ok = int(text) % 86_400_000 == 0  # epoch ms at midnight UTC
            else:
                try:
                    date.fromisoformat(text)
                    ok = len(text) == 10
                except ValueError:
                    ok = False
            return None if ok else ("INVALID_DATE", f'"{text}" is not a valid date: use YYYY-MM-DD or '
                                    "midnight UTC in epoch milliseconds")
        if kind == "datetime":
            return None if to_ms(text) is not None else (
                "INVALID_DATETIME", f'"{text}" is not a valid date-time: use ISO 8601 or epoch milliseconds')
        if kind == "bool" and text.lower() not in ("true", "false"):
            return "INVALID_BOOLEAN", f'"{text}" is not a valid boolean: use true or false'
        return None

    def validate_properties(self, object_type: str, props: Any) -> list[dict[str, Any]]:
        if not isinstance(props, dict):
            return [
                {
                    "isValid": False,
                    "message": "properties must be an object",
                    "error": "INVALID_INPUT",
                    "name": "properties",
                }
            ]
        errors = []
        known = self.known_properties(object_type)
        for name, value in props.items():
            if name not in known:
                errors.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": name,
                    }
                )
            elif name in READ_ONLY:
                errors.append(
                    {
                        "isValid": False,
                        "message": f"{name} is a read only property; its value cannot be set.",
                        "error": "READ_ONLY_VALUE",
                        "name": name,
                    }
                )
            elif value is not None and not isinstance(value, (str, int, Decimal, float, bool)):
                errors.append(
                    {
                        "isValid": False,
                        "message": f"{name} must be a string",
                        "error": "INVALID_INPUT",
                        "name": name,
                    }
                )
            elif (why := self.type_error(self.property_type(object_type, name), value)) is not None:
                errors.append({"isValid": False, "message": why[1], "error": why[0], "name": name})
            elif self.property_type(object_type, name) == "number" and value not in (None, ""):
                try:
                    Decimal(str(value))
                except InvalidOperation:
                    errors.append(
                        {
                            "isValid": False,
                            "message": f"{value} was not a valid number.",
                            "error": "INVALID_DECIMAL",
                            "name": name,
                        }
                    )
        return errors

    def invalid(self, errors: list[dict[str, Any]]) -> web.Response:
        return self.fail(
            400,
            f"Property values were not valid: {json.dumps(errors)}",
            "VALIDATION_ERROR",
            errors=[{"message": e["message"], "code": e["error"], "context": {"propertyName": [e["name"]]}}
                    for e in errors],
        )

    def rule_errors(
        self, request: web.Request, t: str, obj: dict[str, Any] | None, props: Any
    ) -> list[dict[str, Any]]:
        """The portal's validation rules a write breaks (2026-09 enforces them on every CRM write).

        ``validation_rules``: ``[{"objectType": "deals", "property": "dealtype", "when": {"invoice_sync_status":
        "synced"}}]``: ``property`` must have a value on the record as the write leaves it (only when the
        record then matches ``when``, for a conditionally required property).
        """
        if not self.is_2026_09(request) or not isinstance(props, dict):
            return []
        after = {**(obj["properties"] if obj else {}), **{k: None if v is None else str(v) for k, v in props.items()}}
        errors = []
        for rule in self.config.get("validation_rules") or []:
            if rule.get("objectType", "deals") != t:
                continue
            when = rule.get("when") or {}
            if any(after.get(k) != v for k, v in when.items()):
                continue
            name = str(rule.get("property"))
            if after.get(name) in (None, ""):
                condition = " when " + ", ".join(f"{k} is {v!r}" for k, v in when.items()) if when else ""
                errors.append({
                    "isValid": False,
                    "message": f"{name} is required by a validation rule of this portal{condition}",
                    "error": "REQUIRED_PROPERTY",
                    "name": name,
                })
        return errors
