"""The deal saga's step table: the wire names it declares, the engine steps and state it derives."""

from __future__ import annotations

from datetime import date

import pytest

from shared.sync import activities, deal_saga
from shared.sync.messages import EnsureCustomerResult
from shared.sync.policy import SagaPolicy
from shared.sync.saga_state import DealSagaInput, DealSagaState
from shared.sync.step_table import Action, SagaStep, check_table


def test_the_activity_names_recorded_in_histories_are_unchanged() -> None:
    assert set(deal_saga.ACTIVITIES) == {"load_deal", "write_deal_markers", "ensure_customer",
                                         "archive_customer_if_created", "create_invoice", "undo_invoice_if_present",
                                         "send_invoice_email"}
    assert set(deal_saga.ACTIVITIES) <= set(activities.HANDLERS)


def test_the_engine_steps_follow_the_table_with_their_undos_and_retries() -> None:
    policy = SagaPolicy(step_max_attempts=4, compensation_max_attempts=9)
    saga = deal_saga.build_deal_saga(policy)
    assert [(s.name, s.activity, s.compensation) for s in saga.steps] == [
        ("load", "load_deal", None),
        ("claim", "write_deal_markers", "write_deal_markers"),
        ("customer", "ensure_customer", "archive_customer_if_created"),
        ("invoice", "create_invoice", "undo_invoice_if_present"),
        ("write_back", "write_deal_markers", "write_deal_markers"),
    ]
    assert all(s.retry == policy.step_retry() for s in saga.steps)
    assert all(s.compensation_retry == policy.compensation_retry() for s in saga.steps if s.compensation)
    assert saga.step("invoice").compensation_retry.max_attempts == 9  # type: ignore[union-attr]


def test_a_step_whose_result_has_no_typed_home_in_the_state_is_refused() -> None:
    stray = SagaStep("stray", Action(deal_saga.LOAD_DEAL, deal_saga.STEPS[0].forward.build), None,
                     retry=SagaPolicy.step_retry)
    with pytest.raises(TypeError, match="stray"):
        check_table((*deal_saga.STEPS, stray), DealSagaState)
    wrong = SagaStep("customer", Action(deal_saga.LOAD_DEAL, deal_saga.STEPS[0].forward.build), None,
                     retry=SagaPolicy.step_retry)
    with pytest.raises(TypeError, match="customer"):
        check_table((wrong,), DealSagaState)


def test_the_state_keeps_results_as_their_models_and_sets_an_earlier_rounds_customer_aside() -> None:
    state = DealSagaState(input=DealSagaInput(tx_id="deal-1", deal_id="1", today=date(2026, 1, 2)))
    raw = {"customer": {"id": "C1", "external_id": "77", "name": "Company 77"}, "created": True,
           "external_ids": {"customer": "C1"}}
    state.keep_result("customer", raw, halted=False)
    assert isinstance(state.customer, EnsureCustomerResult) and state.customer.created
    state.keep_result("load", {"deal_name": "x", "reason": "not won"}, halted=True)  # a halt's result is not a model
    assert state.load is None
    state.set_aside("customer")
    assert state.customer is None and [c.customer.id for c in state.earlier_customers] == ["C1"]
