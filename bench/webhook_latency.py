"""Benchmark: time for the app on devhost to answer a signed HubSpot batch of 100 deal events.

Each batch names 100 new won deals (so every answer starts 100 transactions, the worst case), then the
same batch is replayed (every event a duplicate). Prints JSON with p50/p99 and the goal p99 <= 100 ms.
Usage: python bench/webhook_latency.py [--batches 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench._stack import bench_stack, percentile
from shared.connectors.hubspot_webhooks import sign_v3
from tests.support.settings import sample_settings

GOAL_P99_MS = 100.0


def batch(first_deal: int) -> bytes:
    return json.dumps([{"eventId": first_deal + i, "subscriptionType": "deal.propertyChange",
                        "objectId": first_deal + i, "propertyName": "dealstage", "propertyValue": "closedwon",
                        "occurredAt": 0, "portalId": 1, "attemptNumber": 0} for i in range(100)]).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()
    secret = sample_settings()["HUBSPOT_APP_SECRET"]
    with bench_stack() as stack, httpx.Client(base_url=stack.host.base_url, timeout=60) as http:
        url = stack.host.base_url + "/api/webhooks/hubspot"
        new_ms: list[float] = []
        replay_ms: list[float] = []
        for n in range(args.batches):
            body = batch(50_000_000 + n * 100)
            for sink in (new_ms, replay_ms):
                ts = int(time.time() * 1000)
                headers = {"X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, ts),
                           "X-HubSpot-Request-Timestamp": str(ts), "Content-Type": "application/json"}
                t0 = time.perf_counter()
                response = http.post("/api/webhooks/hubspot", content=body, headers=headers)
                sink.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.text
        p99_new, p99_replay = percentile(new_ms, 99), percentile(replay_ms, 99)
        print(json.dumps({
            "batches": args.batches, "events_per_batch": 100,
            "new_deals": {"p50_ms": round(percentile(new_ms, 50), 1), "p99_ms": round(p99_new, 1),
                          "goal": f"p99 <= {GOAL_P99_MS:.0f} ms", "met": p99_new <= GOAL_P99_MS},
            "replayed_batch": {"p50_ms": round(percentile(replay_ms, 50), 1), "p99_ms": round(p99_replay, 1),
                               "goal": f"p99 <= {GOAL_P99_MS:.0f} ms", "met": p99_replay <= GOAL_P99_MS},
        }, indent=2))


if __name__ == "__main__":
    main()
