"""What both simulators share: request recording, fault injection, config and the ``/_sim/`` admin API."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from simulators.faults import Fault, FaultBook, body_elements
from simulators.wire import json_response, read_json

__all__ = ["Handler", "SimServer"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REDACT = {"authorization", "x-hubspot-signature-v3", "x-xero-signature", "cookie"}


class SimServer:
    """Base of a simulator: subclasses add the vendor routes, auth, limits and state."""

    name = "sim"
    defaults: dict[str, Any] = {}

    def __init__(self) -> None:
        self.faults = FaultBook()
        self.requests: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self.config: dict[str, Any] = dict(self.defaults)
        self.background: set[asyncio.Task[Any]] = set()
        self.reset_state()

    # --- to override ---

    def reset_state(self) -> None:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def seed(self, name: str, options: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        """The vendor's usual error body for ``status`` (used by faults without a body)."""
        return {"message": message}

    async def admit(self, request: web.Request) -> tuple[web.StreamResponse | None, Callable[[], None]]:
        """Auth and rate limits before the handler: (refusal or None, release callback)."""
        return None, lambda: None

    # --- shared machinery ---

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run ``coro`` in the background (webhook deliveries), keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=10 * 1024 * 1024)
        app.router.add_post("/_sim/reset", self._admin_reset)
        app.router.add_post("/_sim/seed", self._admin_seed)
        app.router.add_get("/_sim/state", self._admin_state)
        app.router.add_post("/_sim/faults", self._admin_add_fault)
        app.router.add_get("/_sim/faults", self._admin_list_faults)
        app.router.add_delete("/_sim/faults", self._admin_clear_faults)
        app.router.add_get("/_sim/requests", self._admin_requests)
        app.router.add_delete("/_sim/requests", self._admin_clear_requests)
        app.router.add_get("/_sim/config", self._admin_get_config)
        app.router.add_post("/_sim/config", self._admin_set_config)
        self.add_routes(app)
        return app

    def _fault_response(self, status: int, body: Any, headers: dict[str, str]) -> web.Response:
        if body is None:
            body = self.error_body(status, f"simulated fault {status}")
        if isinstance(body, str):
            return web.Response(text=body, status=status, headers=headers)
        return json_response(body, status, headers)

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.Response | None:
        """Wait the fault's delay, then its answer: a cut connection, its status, or None (a slow server only)."""
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.drop:
            return self._drop(request)
        if fault.status is not None:
            return self._fault_response(fault.status, fault.body, fault.headers)
        return None

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.abort()
        # Nothing reaches the client; aiohttp discards this response on the closed transport.
        return web.Response(status=499)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sim/"):
            return await handler(request)
        body_text = await request.text()
        entry: dict[str, Any] = {
            "seq": next(self._seq),
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": dict(request.query.items()),
            "headers": {k: ("***" if k.lower() in _REDACT else v) for k, v in request.headers.items()},
            "body_text": body_text,
            "body": None,
            "status": None,
            "response_headers": {},
            "response_text": "",
            "fault": False,
        }
        try:
            entry["body"] = await read_json(request) if body_text else None
        except web.HTTPBadRequest:
            entry["body"] = None
        self.requests.append(entry)
        response = await self._respond(request, handler, entry)
        if not response.prepared:
            response.headers.update(request.get("extra_headers", {}))
        entry["status"] = response.status
        entry["response_headers"] = dict(response.headers)
        if isinstance(response, web.Response) and response.body is not None:
            raw = response.body
            entry["response_text"] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return response

    async def _respond(
        self, request: web.Request, handler: Handler, entry: dict[str, Any]
    ) -> web.StreamResponse:
        refusal, release = await self.admit(request)
        if refusal is not None:
            return refusal
        try:
            elements = body_elements(await request.read()) if self.faults.counts_elements() else 0
            fault = self.faults.take(request.method, request.path, elements)
            if fault is not None:
                entry["fault"] = True
                if not fault.after and (refused := await self._apply_fault(request, fault)) is not None:
                    return refused
            response = await self._call(handler, request)
            if fault is not None and fault.after:
                # The request took effect; the client never learns it (a lost response). An explicit None
                # test: a response is a mapping, and an empty one is falsy.
                lost = await self._apply_fault(request, fault)
                if lost is not None:
                    return lost
            return response
        finally:
            release()

    @staticmethod
    async def _call(handler: Handler, request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            # Turn aiohttp's raised answers into plain responses so that they are recorded too.
            return web.Response(status=exc.status, text=exc.text, headers=exc.headers)

    # --- admin API ---

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.reset_state()
        self.faults.clear()
        self.requests.clear()
        self.config = dict(self.defaults)
        return json_response({"ok": True})

    async def _admin_seed(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        name = str(body.get("name", "demo"))
        try:
            result = self.seed(name, body)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(result)

    async def _admin_state(self, request: web.Request) -> web.Response:
        return json_response(self.snapshot())

    async def _admin_add_fault(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        specs = body if isinstance(body, list) else [body]
        try:
            for spec in specs:
                if not isinstance(spec, dict):
                    raise ValueError("a fault is a JSON object")
                self.faults.add(spec)
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"faults": self.faults.snapshot()}, 201)

    async def _admin_list_faults(self, request: web.Request) -> web.Response:
        return json_response({"faults": self.faults.snapshot()})

    async def _admin_clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return json_response({"ok": True})

    async def _admin_requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return json_response({"requests": [r for r in self.requests if r["seq"] > since]})

    async def _admin_clear_requests(self, request: web.Request) -> web.Response:
        self.requests.clear()
        return json_response({"ok": True})

    async def _admin_get_config(self, request: web.Request) -> web.Response:
        return json_response(self.config)

    async def _admin_set_config(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        unknown = sorted(set(body) - set(self.defaults))
        if unknown:
            return json_response(
                {"error": f"unknown config keys: {unknown}", "known": sorted(self.defaults)}, 400
            )
        self.config.update(body)
        self.on_config_change()
        return json_response(self.config)

    def on_config_change(self) -> None:
        """Hook: rebuild rate windows and the like after ``POST /_sim/config``."""
