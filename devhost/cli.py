"""Command line: `python -m devhost --app-dir DIR [--host] [--port] [--settings] [--state] [--clock]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from devhost.server import DevHost
from devhost.settings import apply_settings, find_settings_file


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m devhost", description="Local Azure Functions + Durable host.")
    p.add_argument("--app-dir", required=True, help="directory containing function_app.py")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7071, help="port (default 7071; 0 picks a free port)")
    p.add_argument(
        "--settings",
        default=None,
        help="settings file (default DIR/local.settings.json, then DIR/local.settings.sample.json)",
    )
    p.add_argument("--state", default=None, help="SQLite state file (default: state in memory only)")
    p.add_argument(
        "--clock", choices=("real", "virtual"), default=None, help="host clock (default: env DEVHOST_CLOCK or real)"
    )
    p.add_argument(
        "--max-activities",
        type=int,
        default=None,
        help="concurrent activity executions (default: env DEVHOST_MAX_CONCURRENT_ACTIVITIES or 16)",
    )
    p.add_argument("--log-level", default="INFO")
    return p


async def _serve(args: argparse.Namespace) -> int:
    host = DevHost(
        args.app_dir,
        host=args.host,
        port=args.port,
        state_file=args.state,
        clock=args.clock,
        max_activities=args.max_activities,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    base_url = await host.start()
    sys.stdout.write(f"devhost ready {base_url}\n")
    sys.stdout.flush()
    await stop.wait()
    logging.getLogger("devhost").info("shutting down")
    await host.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app_dir = Path(args.app_dir)
    settings = find_settings_file(app_dir, args.settings)
    apply_settings(settings)
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
