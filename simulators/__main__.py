"""``python -m simulators``: serve the HubSpot and Xero simulators until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from simulators.server import start


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m simulators", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--hubspot-port", type=int, default=8081, help="0 picks a free port")
    p.add_argument("--xero-port", type=int, default=8082, help="0 picks a free port")
    p.add_argument("--seed", choices=["demo"], help="load the demo data at start")
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="rate-limit clock speed-up (minute = 60/K s)"
    )
    p.add_argument("--hubspot-token", help="the bearer token HubSpot accepts (default: any)")
    p.add_argument("--hubspot-webhook-url")
    p.add_argument("--hubspot-webhook-secret")
    p.add_argument("--xero-client-id", help="the client id the token endpoint accepts (default: any)")
    p.add_argument("--xero-client-secret")
    p.add_argument("--xero-token-lifetime", type=int, default=1800, help="seconds")
    p.add_argument("--xero-webhook-url")
    p.add_argument("--xero-webhook-key")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    sims = await start(args.host, args.hubspot_port, args.xero_port)
    hub, xero = sims.hubspot, sims.xero
    for sim in (hub, xero):
        sim.defaults = {**sim.defaults, "time_scale": args.time_scale}
    hub.defaults.update(
        access_token=args.hubspot_token,
        webhook_url=args.hubspot_webhook_url,
        webhook_secret=args.hubspot_webhook_secret,
    )
    xero.defaults.update(
        client_id=args.xero_client_id,
        client_secret=args.xero_client_secret,
        token_lifetime=args.xero_token_lifetime,
        webhook_url=args.xero_webhook_url,
        webhook_key=args.xero_webhook_key,
    )
    # Command-line settings are the defaults that POST /_sim/reset returns to.
    for sim in (hub, xero):
        sim.config = dict(sim.defaults)
        sim.on_config_change()
    if args.seed:
        hub.seed(args.seed, {})
        xero.seed(args.seed, {})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"simulators ready hubspot={sims.hubspot_url} xero={sims.xero_url}", flush=True)
    await stop.wait()
    await sims.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        asyncio.run(run(args))
    except OSError as exc:
        print(f"simulators failed to start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
