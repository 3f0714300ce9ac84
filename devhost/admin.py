"""Admin routes: devhost's /_devhost/ API (health, stats, faults, clock) and the host's /admin/functions invoke."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiohttp import web

from devhost.clock import VirtualClock, fmt_ts
from devhost.engine import Engine
from devhost.faults import FaultRegistry
from devhost.loader import FunctionIndex
from devhost.timer_triggers import TimerTriggerRunner


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json")


def parse_invocation(raw: bytes) -> str:
    """The `{"input": "<string>"}` body of an admin invoke; no body or no input means ""."""
    if not raw.strip():
        return ""
    try:
        body = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise ValueError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError('body must be a JSON object like {"input": "..."}')
    value = body.get("input")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError('"input" must be a string')
    return value


# Why each indexed kind can't go through the admin invoke (kind "timer" can).
_NOT_INVOKABLE = {
    "http": "is HTTP-triggered: call it over its route instead",
    "orchestrator": "has an orchestrationTrigger: start it through the durable HTTP API instead",
    "activity": "has an activityTrigger: activities only run when an orchestration calls them",
    "entity": "has an entityTrigger: signal the entity through the durable HTTP API instead",
}


class AdminApi:
    def __init__(self, engine: Engine, faults: FaultRegistry, index: FunctionIndex, timers: TimerTriggerRunner) -> None:
        self.engine = engine
        self.faults = faults
        self.index = index
        self.timers = timers

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_devhost/health", self.health),
            web.get("/_devhost/stats", self.stats),
            web.get("/_devhost/faults", self.list_faults),
            web.post("/_devhost/faults", self.add_faults),
            web.delete("/_devhost/faults", self.clear_faults),
            web.get("/_devhost/clock", self.get_clock),
            web.post("/_devhost/clock", self.set_clock),
            # The Functions host's own route (Core Tools serves it too), hence /admin and not /_devhost.
            web.post("/admin/functions/{name}", self.invoke_function),
        ]

    async def invoke_function(self, request: web.Request) -> web.Response:
        """Run a non-HTTP function once now; 202 with no body as soon as it has started (no waiting)."""
        try:
            # The input is ignored for timers: the real timer binding builds its TimerInfo from the schedule.
            parse_invocation(await request.read())
        except ValueError as exc:
            return _json({"error": str(exc)}, status=400)
        name = request.match_info["name"]
        info = self.index.find(name)
        if info is None:
            return _json({"error": f"function '{name}' not found"}, status=404)
        if info.kind != "timer":
            kind = info.trigger.get("type")
            why = _NOT_INVOKABLE.get(info.kind) or f"has a '{kind}' trigger, which devhost cannot run"
            return _json({"error": f"function '{info.name}' {why}"}, status=400)
        if self.timers.invoke_now(info.name) is None:
            return _json({"error": f"function '{name}' not found"}, status=404)
        return web.Response(status=202)

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
