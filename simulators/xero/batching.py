"""The checks and answers of a collection request in the Xero simulator (settings: ``batch_settings``)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from aiohttp import web

from simulators.wire import json_response
from simulators.xero.batch_settings import HIGH_VOLUME_MESSAGE, OPTIMISED_CONTACT_FIELDS
from simulators.xero.state import XeroStore
from simulators.xero.where import where_fields

__all__ = ["XeroBatching"]

class XeroBatching(XeroStore):
    """The checks and answers a collection request goes through, around its per-element handling."""

    async def too_large(self, request: web.Request) -> web.Response | None:
        """413 for a body over ``max_request_bytes`` (checked before anything is read or created)."""
        cap = self.config.get("max_request_bytes")
        size = len(await request.read())
        if cap and size > int(cap):
            return json_response(self.error_body(413, f"The request body of {size} bytes exceeds {cap}"), 413)
        return None

    async def batch_latency(self, count: int) -> None:
        """Wait as long as Xero takes for ``count`` elements (nothing when the latency is off)."""
        ms = float(self.config.get("batch_latency_ms") or 0)
        ms += float(self.config.get("batch_latency_per_element_ms") or 0) * count
        if ms > 0:
            await asyncio.sleep(ms / 1000 / float(self.config.get("time_scale") or 1.0))

    def answer_elements(self, key: str, results: list[dict[str, Any]], summarize: bool) -> web.Response:
        """The collection's answer: every element (200), or, when summarized and any failed, a 400 with the
        failed ones only. The valid elements were stored either way, as Xero does."""
        failed = [r for r in results if r.get("StatusAttributeString") == "ERROR"]
        if summarize and failed:
            return self.validation(self._ordered(failed))
        return self.ok(key, self._ordered(results))

    def _ordered(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.config.get("shuffle_answers"):
            return results
        if self._shuffler is None:
            seed = self.config.get("shuffle_seed")
            self._shuffler = random.Random(seed)
        shuffled = list(results)
        self._shuffler.shuffle(shuffled)
        return shuffled

    def ids_filter(self, request: web.Request) -> set[str] | web.Response | None:
        """The ``IDs=`` of a list request (None without one), or the refusal of a list over ``max_ids``."""
        raw = request.query.get("IDs")
        if not raw:
            return None
        # Lists over the cap were refused before this (``access.XeroAccess.admit``).
        return {v.strip().strip('"').lower() for v in raw.split(",") if v.strip()}

    def high_volume(self, where: str) -> web.Response | None:
        """HighVolumeException for an unoptimised Contacts ``where`` in an organisation over the threshold."""
        threshold = self.config.get("high_volume_threshold")
        if threshold is None or len(self.contacts) <= int(threshold):
            return None
        if where_fields(where) <= OPTIMISED_CONTACT_FIELDS:
            return None
        body = {"ErrorNumber": 10, "Type": "HighVolumeException", "Message": HIGH_VOLUME_MESSAGE, "Elements": []}
        return json_response(body, 400)
