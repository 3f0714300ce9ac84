"""Calling user functions the way the Python worker does: contexts, activity conversion, failure texts."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devhost.loader import FunctionInfo


class InvocationContext(func.Context):
    """Minimal `func.Context` for functions that declare a `context` parameter."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._tls = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._tls

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


def decode_activity_input(input_text: str | None) -> Any:
    """ActivityTriggerConverter.decode on a `string` Datum (protocol §5.3): df_loads, raw string if not JSON."""
    return ActivityTriggerConverter.decode(meta.Datum(type="string", value=input_text or "null"), trigger_metadata=None)


def encode_activity_output(value: Any) -> str:
    """ActivityTriggerConverter.encode → df_dumps text that becomes TaskCompleted.Result (§1)."""
    datum = ActivityTriggerConverter.encode(value, expected_type=None)
    return str(datum.value)


def worker_exception_text(exc: BaseException) -> str:
    """The worker reports `<ExcType>: <msg>`; the host keeps the text after `Exception:`, leading space
    included, hence the double space in `failed:  ValueError: msg` (§2.6.2)."""
    return f" {type(exc).__name__}: {exc}"


async def call_function(info: FunctionInfo, kwargs: dict[str, Any], app_dir: str, executor: Executor) -> Any:
    """Invoke a user function with keyword arguments; sync functions run on the executor (like the worker)."""
    if info.accepts_context and "context" not in kwargs:
        kwargs["context"] = InvocationContext(info.name, app_dir)
    fn: Callable[..., Any] = info.fn
    if info.is_async:
        return await fn(**kwargs)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(executor, lambda: fn(**kwargs))
    if asyncio.iscoroutine(result):
        return await result
    return result
