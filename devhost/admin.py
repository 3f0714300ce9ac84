"""The devhost admin API under /_devhost/: health, stats, fault injection, virtual clock control."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiohttp import web

from devhost.clock import VirtualClock, fmt_ts
from devhost.engine import Engine
from devhost.faults import FaultRegistry


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json")


class AdminApi:
    def __init__(self, engine: Engine, faults: FaultRegistry) -> None:
        self.engine = engine
        self.faults = faults

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_devhost/health", self.health),
            web.get("/_devhost/stats", self.stats),
            web.get("/_devhost/faults", self.list_faults),
            web.post("/_devhost/faults", self.add_faults),
            web.delete("/_devhost/faults", self.clear_faults),
            web.get("/_devhost/clock", self.get_clock),
            web.post("/_devhost/clock", self.set_clock),
        ]

    async def health(self, request: web.Request) -> web.Response:
        return _json({"status": "ok", "instances": len(self.engine.instances), "idle": self.engine.idle()})

    async def stats(self, request: web.Request) -> web.Response:
        data = self.engine.stats.to_json()
        data["instances_by_status"] = self.engine.counts_by_status()
        data["entities"] = len(self.engine.entities.records)
        data["pending_timers"] = self.engine.timers.pending_count()
        data["virtual_clock_jumps"] = self.engine.timers.jumps
        return _json(data)

    async def list_faults(self, request: web.Request) -> web.Response:
        return _json(self.faults.list())

    async def add_faults(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            items = body if isinstance(body, list) else [body]
            rules = [FaultRegistry.parse(item) for item in items]
        except ValueError as exc:
            return _json({"error": str(exc)}, status=400)
        for rule in rules:
            self.faults.add(rule)
        return _json(self.faults.list(), status=201)

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return _json([])

    async def get_clock(self, request: web.Request) -> web.Response:
        clock = self.engine.clock
        due = self.engine.timers.next_due()
        return _json(
            {
                "virtual": clock.virtual,
                "now": fmt_ts(clock.now()),
                "auto_advance": clock.auto_advance,
                "next_timer": fmt_ts(due) if due else None,
            }
        )

    async def set_clock(self, request: web.Request) -> web.Response:
        """`{"auto_advance": false}` freezes virtual jumps (wall time still passes); `{"advance_ms": N}` jumps."""
        clock = self.engine.clock
        if not isinstance(clock, VirtualClock):
            return _json({"error": "the clock is not virtual (start with --clock virtual)"}, status=409)
        try:
            body = await request.json()
        except ValueError:
            return _json({"error": "JSON body required"}, status=400)
        if "auto_advance" in body:
            clock.auto_advance = bool(body["auto_advance"])
        if "advance_ms" in body:
            clock.advance_by(timedelta(milliseconds=int(body["advance_ms"])))
        self.engine.timers.poke()
        return await self.get_clock(request)
