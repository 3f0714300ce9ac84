"""The paid_invoice_batch orchestration: one Xero delivery's write-backs started, their invoices read 50 per call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orchestrators.paid_invoice_batch import paid_invoice_batch
from orchestrators.start_rounds import WebhookBatchFailed
from shared import names
from shared.application.paid_invoice_starts import InvoiceReads, deliver_invoice_reads, start_paid_invoice_syncs
from shared.domain.errors import TransientError
from shared.saga.envelope import run_activity
from tests.support.fake_client import FakeDurableClient
from tests.support.fake_durable import FakeDurableContext

BATCH = "xewh-abc"


def run(invoice_ids: list[str], duplicates: set[str] = frozenset(), fail_reads: int = 0,
        start: Any = None) -> tuple[dict[str, Any], FakeDurableContext]:
    failures = iter(range(fail_reads))

    def read(payload: dict[str, Any]) -> dict[str, Any]:
        def answer(p: dict[str, Any]) -> dict[str, Any]:
            if next(failures, None) is not None:
                raise TransientError("Xero is down", service="xero", code="http_503")
            return {"invoices": {i: {"id": i, "number": i, "status": "PAID"} for i in p["invoice_ids"]}}
        return run_activity(answer, payload)

    def started(payload: dict[str, Any]) -> dict[str, Any]:
        assert payload["batch_id"] == BATCH
        ids = [f"paid-{i}" for i in payload["invoice_ids"]]
        return {"started": [i for i in ids if i[5:] not in duplicates],
                "duplicates": [i for i in ids if i[5:] in duplicates], "waiting": {}}

    ctx = FakeDurableContext(activities={names.START_PAID_INVOICES: start or started, names.READ_PAID_INVOICES: read,
                                         names.DELIVER_INVOICE_READS: lambda p: len(p["invoices"]) + len(p["unread"])},
                             instance_id=BATCH, input={"invoice_ids": invoice_ids})
    return ctx.run(paid_invoice_batch(ctx)), ctx


def test_a_delivery_of_120_invoices_costs_three_reads_and_each_started_run_gets_its_invoice() -> None:
    ids = [f"inv-{n}" for n in range(120)]
    output, ctx = run(ids, duplicates={"inv-0", "inv-1"})  # already marked paid, or running (told to recheck)
    reads = [p["invoice_ids"] for name, p in ctx.calls if name == names.READ_PAID_INVOICES]
    assert [len(r) for r in reads] == [50, 50, 18] and [i for r in reads for i in r] == ids[2:]
    [(_, delivered)] = [(n, p) for n, p in ctx.calls if n == names.DELIVER_INVOICE_READS]
    assert delivered["batch_id"] == BATCH and sorted(delivered["invoices"]) == sorted(ids[2:])
    assert output["duplicates"] == ["paid-inv-0", "paid-inv-1"] and output["read_lists"] == 3
    assert output["unread"] == [] and output["delivered"] == 118


def test_a_read_that_keeps_failing_leaves_its_runs_to_read_alone_and_the_others_get_theirs() -> None:
    ids = [f"inv-{n}" for n in range(60)]
    output, ctx = run(ids, fail_reads=4)  # the first list's every attempt
    [delivered] = [p for n, p in ctx.calls if n == names.DELIVER_INVOICE_READS]
    assert delivered["unread"] == ids[:50] and sorted(delivered["invoices"]) == sorted(ids[50:])
    assert output["unread"] == ids[:50]


def test_a_delivery_whose_runs_were_all_there_reads_nothing() -> None:
    _, ctx = run(["inv-1"], duplicates={"inv-1"})
    assert ctx.names() == [names.START_PAID_INVOICES]


def test_runs_that_cannot_be_started_end_the_batch_failed_so_that_it_shows() -> None:
    def down(_payload: Any) -> Any:
        raise RuntimeError("task hub unreachable")

    with pytest.raises(WebhookBatchFailed):
        run(["inv-1"], start=down)


def test_runs_started_for_a_batch_wait_for_its_read_and_each_hears_under_that_batch_s_name() -> None:
    client = FakeDurableClient()
    client.finish("paid-inv-2", "Running")  # another batch's run: told to read again instead
    report = asyncio.run(start_paid_invoice_syncs(client, ["inv-1", "inv-2"], BATCH))
    assert report.started == ["paid-inv-1"] and report.duplicates == ["paid-inv-2"]
    assert client.starts == [(names.INVOICE_PAID, "paid-inv-1", {"invoice_id": "inv-1", "read_by": BATCH})]
    assert client.events == [("paid-inv-2", names.EVENT_RECHECK, {"invoice_id": "inv-2"})]
    told = asyncio.run(deliver_invoice_reads(client, InvoiceReads(batch_id=BATCH, invoices={"inv-1": None},
                                                                  unread=["inv-3"])))
    event = names.invoice_read_event(BATCH)
    assert told == 2 and client.events[1:] == [("paid-inv-1", event, {"read": True, "invoice": None}),
                                               ("paid-inv-3", event, {"read": False})]
