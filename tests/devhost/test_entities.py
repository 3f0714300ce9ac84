"""Entities: orchestrator call/signal, client signal and state read, FIFO order, operation errors."""

from __future__ import annotations

import time
import uuid

from devhost.testing import DevHostClient


def _wait_state(client: DevHostClient, key: str, expected: object, timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    state: object = None
    while time.monotonic() < deadline:
        exists, state = client.read_entity("Counter", key)
        if exists and state == expected:
            return state
        time.sleep(0.01)
    return state


def test_entity_call_and_signal_from_orchestrator_are_fifo_and_errors_surface(client: DevHostClient) -> None:
    key = uuid.uuid4().hex[:8]
    status = client.wait(client.start("entity_user", key))
    # signal add 5, then call add 3 → 8: the signal was processed first (FIFO per entity).
    assert status["output"] == {"after_add": 8, "current": 8, "failed": "boom!"}
    assert client.read_entity("Counter", key) == (True, 8)


def test_client_signal_then_state_read(client: DevHostClient) -> None:
    key = uuid.uuid4().hex[:8]
    for n in (1, 2, 3):
        assert client.signal_entity("Counter", key, "add", n) == 202
    assert _wait_state(client, key, 6) == 6


def test_entity_names_are_case_insensitive_and_unknown_state_is_404(client: DevHostClient) -> None:
    key = uuid.uuid4().hex[:8]
    assert client.read_entity("counter", key) == (False, None)
    client.signal_entity("COUNTER", key, "add", 4)
    assert _wait_state(client, key, 4) == 4


def test_signal_to_unknown_entity_is_rejected(client: DevHostClient) -> None:
    assert client.signal_entity("NoSuchEntity", "k", "add", 1) == 400


def test_entity_operations_are_counted_in_stats(client: DevHostClient) -> None:
    before = client.stats()["entity_operations"]
    key = uuid.uuid4().hex[:8]
    client.signal_entity("Counter", key, "add", 1)
    _wait_state(client, key, 1)
    assert client.stats()["entity_operations"] == before + 1
