"""devhost's fault rules: which execution of an activity a rule hits."""

from __future__ import annotations

import pytest

from devhost.faults import FaultRegistry


def test_a_rule_with_input_contains_hits_only_executions_whose_input_carries_it() -> None:
    faults = FaultRegistry()
    faults.add(FaultRegistry.parse({"activity": "run_batch", "mode": "delay", "delay_ms": 5,
                                    "input_contains": '"kind":"invoice"'}))
    assert faults.take("run_batch", input_text='{"kind":"load","items":[]}') is None
    rule = faults.take("run_batch", input_text='{"items":[],"kind":"invoice"}')
    assert rule is not None and rule.fired == 1
    assert faults.take("run_batch", input_text='{"kind":"invoice"}') is None  # times=1: used up


def test_input_contains_must_be_a_string() -> None:
    with pytest.raises(ValueError, match="input_contains"):
        FaultRegistry.parse({"activity": "run_batch", "mode": "delay", "input_contains": 3})
