"""The Functions host ⇄ worker protobuf messages (FunctionRpc), loaded from the worker's own compiled protos.

The Python worker library (`azure-functions-runtime`) does not ship the compiled protos: in Azure the process
that hosts it passes them in (`request.properties["protos"]`). The same compiled `FunctionRpc_pb2` modules ship
inside the `azure-functions-runtime-v1` wheel (under its top-level `tests/protos` folder, which is why that
wheel is never installed into the environment: it would shadow the project's own `tests` package). `make
bootstrap` downloads the wheel next to the virtual environment, and this module imports the protos straight from
the wheel file under a private package name (§8.1).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

PROTOS_WHEEL = "azure_functions_runtime_v1-1.2.0-py3-none-any.whl"
PROTOS_DIR_ENV = "DEVHOST_RPC_PROTOS"
_PACKAGE = "devhost_function_rpc"
# Message classes the worker library builds or reads (the set its own proxy passes in).
_NAMES = (
    "StreamingMessage", "WorkerInitRequest", "WorkerInitResponse", "RpcFunctionMetadata", "FunctionLoadRequest",
    "FunctionLoadResponse", "FunctionEnvironmentReloadRequest", "FunctionEnvironmentReloadResponse",
    "InvocationRequest", "InvocationResponse", "BindingInfo", "StatusResult", "RpcException", "ParameterBinding",
    "TypedData", "RpcHttp", "RpcHttpCookie", "RpcLog", "RpcSharedMemory", "RpcDataType", "FunctionsMetadataRequest",
    "FunctionMetadataResponse", "WorkerMetadata", "RpcRetryOptions", "RpcTraceContext", "RetryContext",
)
_NULLABLE = ("NullableString", "NullableBool", "NullableDouble", "NullableTimestamp")


class ProtosNotFoundError(RuntimeError):
    """The compiled FunctionRpc protos are not where `make bootstrap` puts them."""


def _wheel_path() -> Path:
    configured = os.environ.get(PROTOS_DIR_ENV)
    folder = Path(configured) if configured else Path(sys.prefix) / "devhost-rpc"
    wheel = folder / PROTOS_WHEEL
    if not wheel.is_file():
        raise ProtosNotFoundError(
            f"{wheel} not found: devhost needs the Functions worker's compiled protos "
            f"(run `make bootstrap`, or set {PROTOS_DIR_ENV} to a folder holding {PROTOS_WHEEL})"
        )
    return wheel


@functools.cache
def protos() -> types.SimpleNamespace:
    """The message classes, as the namespace the worker library expects in `properties["protos"]`."""
    wheel = _wheel_path()
    package = types.ModuleType(_PACKAGE)
    # A folder inside a zip on __path__ is served by zipimport; the package's __init__ (which needs grpcio)
    # is never run, only the two message modules are imported.
    package.__path__ = [f"{wheel}/tests/protos"]
    sys.modules[_PACKAGE] = package
    rpc = importlib.import_module(f"{_PACKAGE}.FunctionRpc_pb2")
    nullable = importlib.import_module(f"{_PACKAGE}.shared.NullableTypes_pb2")
    members = {name: getattr(rpc, name) for name in _NAMES}
    members.update({name: getattr(nullable, name) for name in _NULLABLE})
    return types.SimpleNamespace(**members)


def string(value: str) -> Any:
    return protos().TypedData(string=value)


def json_text(value: str) -> Any:
    return protos().TypedData(json=value)


def raw_bytes(value: bytes) -> Any:
    return protos().TypedData(bytes=value)


def typed_value(data: Any) -> tuple[str | None, Any]:
    """(kind, value) of a TypedData: the `data` oneof that is set, and its value (None, None when empty)."""
    if data is None:
        return None, None
    kind = data.WhichOneof("data")
    return kind, (getattr(data, kind) if kind else None)


def typed_text(data: Any) -> str | None:
    """The JSON/text a TypedData carries (string, json, bytes or a number as JSON text), None when empty."""
    kind, value = typed_value(data)
    if kind is None:
        return None
    if kind in ("string", "json"):
        return str(value)
    if kind == "bytes":
        return bytes(value).decode("utf-8")
    if kind in ("int", "double"):
        return json.dumps(value)
    raise ValueError(f"unexpected TypedData kind {kind!r}")
