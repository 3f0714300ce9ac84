"""Runs both simulators in one asyncio loop on given host and ports (0 = any free port)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from simulators.hubspot import HubSpotSim
from simulators.xero import XeroSim

__all__ = ["RunningSimulators", "start"]


@dataclass
class RunningSimulators:
    hubspot: HubSpotSim
    xero: XeroSim
    hubspot_url: str
    xero_url: str
    runners: list[web.AppRunner]

    async def stop(self) -> None:
        if self.hubspot.dispatcher is not None:
            self.hubspot.dispatcher.stop()  # the webhook thread: a POST in flight ends within its timeout
        for sim in (self.hubspot, self.xero):
            for task in list(sim.background):
                task.cancel()
        for runner in self.runners:
            await runner.cleanup()


def _port(runner: web.AppRunner) -> int:
    for site in runner.sites:
        server: Any = site._server  # aiohttp keeps the bound sockets here; port 0 needs the real one
        if server is not None and server.sockets:
            return int(server.sockets[0].getsockname()[1])
    raise RuntimeError("site not bound")


async def start(
    host: str = "127.0.0.1", hubspot_port: int = 8081, xero_port: int = 8082
) -> RunningSimulators:
    hubspot, xero = HubSpotSim(), XeroSim()
    runners = []
    urls = []
    for sim, port in ((hubspot, hubspot_port), (xero, xero_port)):
        runner = web.AppRunner(sim.make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, host, port, reuse_address=True).start()
        runners.append(runner)
        display = f"[{host}]" if ":" in host else host
        urls.append(f"http://{display}:{_port(runner)}")
    return RunningSimulators(hubspot, xero, urls[0], urls[1], runners)


async def serve_forever(stop: asyncio.Event, sims: RunningSimulators) -> None:
    await stop.wait()
    await sims.stop()
