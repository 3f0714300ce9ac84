"""Errors the engine raises to the durable HTTP API (and catches itself when starting sub-orchestrations)."""


class InstanceExistsError(Exception):
    """Starting an id whose instance is Pending/Running/Suspended (NonRunningStates dedupe, §4.3)."""


class UnknownFunctionError(Exception):
    pass
