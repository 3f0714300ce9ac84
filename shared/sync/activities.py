"""What each activity that runs with the sync's ports does, by name: the deal saga's (from its table) and the
batch's mapping check.

Blueprints call ``run`` with the process's real clients; tests call it with their own, so both run
exactly the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from shared import names
from shared.domain.errors import BusinessRejection
from shared.saga.envelope import run_activity
from shared.sync import attention
from shared.sync.deal_saga import ACTIVITIES
from shared.sync.org_check import check_mapping
from shared.sync.step_ports import Ports

log = logging.getLogger(__name__)


def check_invoice_mapping(ports: Ports) -> dict[str, Any]:
    """The batch's first step: the mapping is readable and every code it names exists in the organisation."""
    try:
        rules = check_mapping(ports.rules, ports.org)
    except BusinessRejection as exc:
        log.warning("%s", attention.mapping_refused_line(names.BATCH_INSTANCE_ID, str(exc)))
        raise
    return {"checked": ports.org is not None and not rules.mapping.is_empty}


Handler = Callable[[Any, Ports], dict[str, Any]]

HANDLERS: dict[str, Handler] = {
    **{name: activity.run for name, activity in ACTIVITIES.items()},
    names.CHECK_MAPPING: lambda payload, ports: run_activity(lambda _p: check_invoice_mapping(ports), payload),
}


def run(name: str, payload: Any, ports: Ports) -> dict[str, Any]:
    """Run activity ``name``: a business rejection comes back as data, other errors are raised."""
    return HANDLERS[name](payload, ports)


__all__ = ["HANDLERS", "Ports", "check_invoice_mapping", "run"]
