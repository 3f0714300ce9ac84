"""Benchmark: GET /api/transactions for one day versus a full scan of the ledger table, in Azurite.

Writes ROWS ledger rows (the ledger's own layout, ``to_row``) spread over 30 days, in table transactions of
100 rows per partition, then times the API for one day (the status page's query) and a full table scan.
Prints JSON (with ``figures``); the goal is a one-day page at least 10x faster than the scan.
Usage: python bench/status_query.py [--rows 100000] [--requests 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from azure.data.tables import TableServiceClient

from bench._figures import figure
from bench._stack import bench_stack, percentile
from shared.domain.transaction import TransactionState
from shared.ledger.layout import to_row
from shared.ledger.table_ledger import TableLedger

STATUSES = ["completed"] * 8 + ["compensated", "needs_attention", "already_synced", "skipped"]
GOAL_RATIO = 10.0


def rows(count: int, now: datetime) -> dict[str, list[dict[str, object]]]:
    by_partition: dict[str, list[dict[str, object]]] = defaultdict(list)
    span = timedelta(days=30).total_seconds()
    for i in range(count):
        at = (now - timedelta(seconds=span * i / count)).isoformat()
        state = TransactionState(id=f"deal-{10_000_000 + i}", deal_id=str(10_000_000 + i), status=STATUSES[i % 12],
                                 created_at=at, updated_at=at, ended_at=at, deal_name=f"Bench deal {i}",
                                 amount="1200.00", currency="EUR", trigger="webhook")
        row = to_row(state)
        by_partition[str(row["PartitionKey"])].append(row)
    return by_partition


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with bench_stack() as stack:
        service = TableServiceClient.from_connection_string(stack.azurite.connection_string)
        ledger = TableLedger(service, stack.ledger_table)
        table = ledger.table
        t0 = time.perf_counter()
        batches = [part[i:i + 100] for part in rows(args.rows, now).values() for i in range(0, len(part), 100)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda b: table.submit_transaction([("upsert", r) for r in b]), batches))
        write_s = time.perf_counter() - t0

        day_from, day_to = (now - timedelta(days=1)).isoformat(), now.isoformat()
        page_ms: list[float] = []
        with httpx.Client(base_url=stack.host.base_url, timeout=120) as http:
            for _ in range(args.requests):
                t1 = time.perf_counter()
                response = http.get("/api/transactions", params={"from": day_from, "to": day_to, "limit": "100"})
                page_ms.append((time.perf_counter() - t1) * 1000)
                assert response.status_code == 200, response.text
            day_total = response.json()["total"]
        scan_ms: list[float] = []
        for _ in range(3):
            t2 = time.perf_counter()
            scanned = ledger.scan_all()
            scan_ms.append((time.perf_counter() - t2) * 1000)
        page_p50, page_p95, scan = percentile(page_ms, 50), percentile(page_ms, 95), min(scan_ms)
        ratio = scan / page_p95
        print(json.dumps({
            "rows": args.rows, "rows_scanned": scanned, "rows_in_day": day_total, "write_seconds": round(write_s, 1),
            "page_one_day": {"p50_ms": round(page_p50, 1), "p95_ms": round(page_p95, 1)},
            "full_scan_ms": round(scan, 1),
            "scan_over_page_p95": {"ratio": round(ratio, 1), "goal": f">= {GOAL_RATIO:.0f}x",
                                   "met": ratio >= GOAL_RATIO},
            "figures": [
                figure("one-day page p50", round(page_p50, 1), "ms"),
                figure("one-day page p95", round(page_p95, 1), "ms"),
                figure(f"full scan of {args.rows:,} rows", round(scan, 1), "ms"),
                figure("full scan / one-day page p95", round(ratio, 1), "x", GOAL_RATIO, ">="),
            ],
        }, indent=2))


if __name__ == "__main__":
    main()
