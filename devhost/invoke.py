"""How the host words a failed invocation: the worker's exception text, as the Durable extension passes it on."""

from __future__ import annotations


def worker_failure_text(message: str) -> str:
    """The worker reports `<ExcType>: <msg>` (RpcException.message); the host keeps the text after `Exception:`,
    leading space included, hence the double space in `failed:  ValueError: msg` (§2.6.2)."""
    return f" {message}"


def host_exception_text(exc: BaseException) -> str:
    """The same wording for a failure on devhost's side (no worker involved, e.g. the built-in HTTP activity)."""
    return worker_failure_text(f"{type(exc).__name__}: {exc}")
