"""Runs the app through the Functions Python worker library (azure-functions-runtime), as the host does in Azure.

devhost plays the host's side of the FunctionRpc stream (§8): it sends `WorkerInitRequest` (the worker imports
`function_app.py` and indexes it, refusing functions it cannot bind), `FunctionsMetadataRequest`,
`FunctionLoadRequest` per function, then one `InvocationRequest` per trigger, and reads the worker's responses.
No user function is called any other way, so what the worker refuses in Azure fails here too.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure_functions_runtime

from devhost import rpc

log = logging.getLogger("devhost.worker")

# The library has no type annotations; its handlers are called through this untyped alias.
runtime: Any = azure_functions_runtime

HOST_VERSION = "4.1040.100"  # reported to the worker as the host's version (informational)


class WorkerError(RuntimeError):
    """The worker refused the app (indexing or loading failed); the message is the worker's."""


@dataclass
class FunctionMetadata:
    """One function as the worker indexed it: its id for invocations and its bindings (raw JSON, parsed)."""

    function_id: str
    name: str
    bindings: list[dict[str, Any]]

    @property
    def trigger(self) -> dict[str, Any]:
        return next((b for b in self.bindings if str(b.get("type", "")).endswith("Trigger")), {})


@dataclass
class Invocation:
    """The worker's InvocationResponse, read: success or the worker's exception text, and the values returned."""

    ok: bool
    error: str = ""  # RpcException.message: "<ExcType>: <message>"
    return_value: Any = None  # TypedData or None
    outputs: dict[str, Any] = field(default_factory=dict)  # output binding name -> TypedData

    @property
    def return_text(self) -> str | None:
        return rpc.typed_text(self.return_value)


@dataclass
class _Request:
    """What the worker library's handlers take: the StreamingMessage and the properties its proxy adds."""

    request: Any
    properties: dict[str, Any]


def _trace_parent() -> str:
    # W3C traceparent, as the host starts a new activity per invocation.
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


class Worker:
    """One worker for one app (the library keeps its function registry in module globals: one app a process)."""

    def __init__(self, app_dir: Path, host: str = "127.0.0.1") -> None:
        self.app_dir = app_dir.resolve()
        self.host = host
        self.functions: list[FunctionMetadata] = []

    def _props(self) -> dict[str, Any]:
        return {"host": self.host, "protos": rpc.protos()}

    async def start(self) -> list[FunctionMetadata]:
        """Init (the worker indexes the app), metadata, load: the host's start-up sequence (§8.2)."""
        p = rpc.protos()
        app_dir = str(self.app_dir)
        # The host starts the worker with the app folder as working directory and first on sys.path: first, so
        # that ``function_app`` is this app's even when another folder with one (the repository's own, put on
        # the path by a test runner) comes earlier.
        if app_dir in sys.path:
            sys.path.remove(app_dir)
        sys.path.insert(0, app_dir)
        # A fresh worker process imports function_app anew; in-process hosts (tests) load several apps in turn.
        sys.modules.pop("function_app", None)
        runtime.start_threadpool_executor()
        init = p.StreamingMessage(
            request_id=str(uuid.uuid4()),
            worker_init_request=p.WorkerInitRequest(
                host_version=HOST_VERSION,
                function_app_directory=app_dir,
                capabilities={"RpcHttpBodyOnly": "true", "RawHttpBodyBytes": "true",
                              "TypedDataCollection": "true", "RpcHttpTriggerMetadataRemoved": "true"},
            ),
        )
        cwd = os.getcwd()
        try:
            os.chdir(app_dir)
            reply = await runtime.worker_init_request(_Request(init, self._props()))
        finally:
            os.chdir(cwd)
        if reply.result.status != p.StatusResult.Success:
            raise WorkerError(f"the worker could not index the app: {reply.result.exception.message}")
        meta = await runtime.functions_metadata_request(
            _Request(p.StreamingMessage(functions_metadata_request=p.FunctionsMetadataRequest(
                function_app_directory=app_dir)), self._props())
        )
        if meta.result.status != p.StatusResult.Success:
            raise WorkerError(f"the worker returned no function metadata: {meta.result.exception.message}")
        functions: list[FunctionMetadata] = []
        for m in meta.function_metadata_results:
            bindings = [json.loads(raw) for raw in m.raw_bindings]
            functions.append(FunctionMetadata(function_id=m.function_id, name=m.name, bindings=bindings))
            loaded = await runtime.function_load_request(
                _Request(p.StreamingMessage(function_load_request=p.FunctionLoadRequest(
                    function_id=m.function_id, metadata=m)), self._props())
            )
            if loaded.result.status != p.StatusResult.Success:
                raise WorkerError(f"the worker could not load {m.name}: {loaded.result.exception.message}")
        self.functions = functions
        log.debug("worker indexed %d functions", len(functions))
        return functions

    async def invoke(
        self,
        function_id: str,
        inputs: dict[str, Any],
        trigger_metadata: dict[str, Any] | None = None,
        retry_count: int = 0,
    ) -> Invocation:
        """One InvocationRequest: `inputs` maps binding names to TypedData (trigger and input bindings)."""
        p = rpc.protos()
        request = p.InvocationRequest(
            invocation_id=str(uuid.uuid4()),
            function_id=function_id,
            input_data=[p.ParameterBinding(name=name, data=data) for name, data in inputs.items()],
            trigger_metadata=trigger_metadata or {},
            trace_context=p.RpcTraceContext(trace_parent=_trace_parent(), trace_state="", attributes={}),
            retry_context=p.RetryContext(retry_count=retry_count, max_retry_count=0),
        )
        reply = await runtime.invocation_request(
            _Request(p.StreamingMessage(request_id=request.invocation_id, invocation_request=request),
                     self._props())
        )
        if reply.result.status != p.StatusResult.Success:
            return Invocation(ok=False, error=reply.result.exception.message or "the function failed")
        return_value = reply.return_value if reply.HasField("return_value") else None
        outputs = {b.name: b.data for b in reply.output_data}
        return Invocation(ok=True, return_value=return_value, outputs=outputs)

    def stop(self) -> None:
        pool = runtime.get_threadpool_executor()
        if pool is not None:
            # Not waiting: a stopping host abandons invocations still running, as the real one does at shutdown.
            pool.shutdown(wait=False, cancel_futures=True)
