"""Assembles the devhost: starts the worker on the app, builds the engine and the aiohttp server, stops them."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from devhost.admin import AdminApi
from devhost.clock import make_clock
from devhost.engine import Engine
from devhost.faults import FaultRegistry
from devhost.http_api import DurableHttpApi, client_binding_json
from devhost.http_triggers import HttpTriggerRouter
from devhost.loader import FunctionInfo, index_functions
from devhost.settings import read_host_json
from devhost.stats import Stats
from devhost.store import open_store
from devhost.timer_triggers import TimerTriggerRunner
from devhost.worker import Worker

log = logging.getLogger("devhost")

DEFAULT_HUB = "TestHubName"


def _reset_sdk_client_session() -> None:
    """The SDK keeps one module-global aiohttp session bound to the loop that created it (§4.2)."""
    try:
        from azure.durable_functions.models.utils import http_utils
    except ImportError:
        return
    http_utils._client_session = None
    http_utils._session_lock = asyncio.Lock()


async def _close_sdk_client_session() -> None:
    try:
        from azure.durable_functions.models.utils import http_utils
    except ImportError:
        return
    session = getattr(http_utils, "_client_session", None)
    if session is not None and not session.closed:
        await session.close()
    http_utils._client_session = None


class DevHost:
    """One running devhost. `await start()` returns the base URL; `await stop()` shuts everything down."""

    def __init__(
        self,
        app_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 7071,
        state_file: str | None = None,
        clock: str | None = None,
        max_activities: int | None = None,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.host = host
        self.port = port
        self.state_file = state_file
        self.clock_kind = clock or os.environ.get("DEVHOST_CLOCK", "real")
        self.max_activities = max_activities or int(os.environ.get("DEVHOST_MAX_CONCURRENT_ACTIVITIES", "16"))
        self.base_url = ""
        self.engine: Engine | None = None
        self._runner: web.AppRunner | None = None
        self._timers: TimerTriggerRunner | None = None
        self.worker: Worker | None = None

    async def start(self) -> str:
        _reset_sdk_client_session()
        worker = Worker(self.app_dir, self.host)
        self.worker = worker
        # The worker imports and indexes the app; a function it refuses stops devhost here, as the app would
        # not start in Azure either.
        index = index_functions(await worker.start())
        host_json = read_host_json(self.app_dir)
        extensions: dict[str, Any] = host_json.get("extensions") or {}
        hub = str((extensions.get("durableTask") or {}).get("hubName") or DEFAULT_HUB)
        route_prefix = str((extensions.get("http") or {}).get("routePrefix", "api"))
        clock = make_clock(self.clock_kind)
        faults = FaultRegistry()
        engine = Engine(
            index, worker, open_store(self.state_file), clock, Stats(), faults, self.max_activities
        )
        self.engine = engine
        durable_api = DurableHttpApi(engine, hub)

        def client_for(info: FunctionInfo, base_url: str) -> str:
            binding = next((b for b in info.bindings if b.get("type") == "durableClient"), {})
            return client_binding_json(base_url, hub, binding.get("taskHub"), binding.get("connectionName"))

        # Built before serving so the admin invoke route can use it; its schedule loops start further down.
        timers = TimerTriggerRunner(
            index.timers, clock, worker, lambda info: client_for(info, self.base_url)
        )
        self._timers = timers
        admin = AdminApi(engine, faults, index, timers)

        router = HttpTriggerRouter(index.http, route_prefix, worker, client_for)
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.add_routes(durable_api.routes())
        app.add_routes(admin.routes())
        app.router.add_route("*", "/{tail:.*}", router.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.base_url = f"http://{self.host}:{self.port}"
        engine.client_binding = lambda info: client_for(info, self.base_url)
        engine.start()
        timers.start()
        log.info(
            "loaded %d orchestrators, %d activities, %d entities, %d http, %d timer functions",
            len(index.orchestrators),
            len(index.activities),
            len(index.entities),
            len(index.http),
            len(index.timers),
        )
        return self.base_url

    @property
    def timers(self) -> TimerTriggerRunner | None:
        """The timer-trigger runner once started (its `invocations` count scheduled and on-demand runs)."""
        return self._timers

    async def stop(self) -> None:
        if self._timers is not None:
            self._timers.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.engine is not None:
            await self.engine.stop()
            self.engine.store.close()
        await _close_sdk_client_session()
        if self.worker is not None:
            self.worker.stop()
