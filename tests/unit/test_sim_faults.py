"""The simulators' fault rules: which request a rule hits (the batch, not a lone call, when asked)."""

from __future__ import annotations

import json

from simulators.faults import FaultBook, body_elements

INVOICES = "/api.xro/2.0/Invoices"


def _body(n: int) -> bytes:
    return json.dumps({"Invoices": [{"Reference": f"deal-{i}"} for i in range(n)]}).encode()


def test_a_rule_for_batches_lets_lone_calls_through_and_hits_the_first_batch() -> None:
    book = FaultBook()
    book.add({"path": INVOICES, "method": "PUT", "status": 429, "min_elements": 2})
    assert book.counts_elements()
    assert book.take("PUT", INVOICES, body_elements(_body(1))) is None
    assert book.take("PUT", INVOICES, body_elements(_body(10))) is not None
    assert book.take("PUT", INVOICES, body_elements(_body(10))) is None  # times=1: used up
    assert not book.counts_elements()


def test_element_counts_come_from_the_first_list_of_a_json_object() -> None:
    assert body_elements(_body(3)) == 3
    assert body_elements(json.dumps({"inputs": [1, 2]}).encode()) == 2
    assert body_elements(b"[1, 2, 3]") == 0 and body_elements(b"not json") == 0 and body_elements(b"") == 0
