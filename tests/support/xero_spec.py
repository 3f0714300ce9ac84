"""Validate Xero traffic (requests sent, responses given) against Xero's official OpenAPI spec.

The spec is read from ``<repo>/../shared/specs/xero/xero_accounting.yaml`` and never copied into the
repository. A test that checks the traffic it caused besides its own assertions calls
``spec_problems(sim.xero.requests())`` on the simulator's request log: the list of violations (empty =
conforming), and empty with a warning when the spec is missing, so that a clone without it still runs
every other check. A test whose only subject is the spec uses ``xero_spec_validator()``: without the
file it skips with the reason (in CI, ``CI=true``, it fails), so the missing spec is reported once.

Calls outside ``/api.xro/2.0`` (the token endpoint, admin API) are not in this spec and are skipped;
a response whose status the operation does not declare (401, 404, 429, 5xx) cannot be checked
against a schema: its request is still checked and the exchange counted in ``undeclared``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

__all__ = ["XeroSpecValidator", "spec_path", "spec_problems", "xero_spec_validator"]

REPO_ROOT = Path(__file__).resolve().parents[2]
API_PREFIX = "/api.xro/2.0"
SPEC_HOST = "https://api.xero.com"


def spec_path(repo_root: Path = REPO_ROOT) -> Path:
    return repo_root.parent / "shared" / "specs" / "xero" / "xero_accounting.yaml"


@dataclass
class _Request:
    method: str
    host_url: str
    path: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters


@dataclass
class _Response:
    status_code: int
    data: bytes | None
    content_type: str
    headers: Headers


@dataclass
class XeroSpecValidator:
    api: OpenAPI
    checked: int = 0
    undeclared: list[str] = field(default_factory=list)

    def _request(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: str
    ) -> _Request:
        content_type = headers.get("Content-Type") or headers.get("content-type") or "application/json"
        return _Request(
            method=method.lower(),
            host_url=SPEC_HOST,
            path=path,
            body=body.encode() if body else None,
            content_type=content_type.lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(query), header=Headers(headers), cookie=ImmutableMultiDict(), path={}
            ),
        )

    def check_exchange(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: str,
        status: int | None,
        response_text: str,
        response_headers: dict[str, str],
    ) -> list[str]:
        """Violations of one request/response pair (empty list = conforming)."""
        if not path.startswith(API_PREFIX):
            return []
        where = f"{method} {path}"
        request = self._request(method, path, query, headers, body)
        problems: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openapi-core warns that OAuth2 security is not checked
            try:
                self.api.validate_request(request)
            except Exception as exc:
                problems.append(f"request {where}: {exc} {getattr(exc, '__cause__', '') or ''}".strip())
            if status is None:
                return problems
            content_type = response_headers.get("Content-Type", "application/json").split(";")[0]
            response = _Response(
                status,
                response_text.encode() if response_text else None,
                content_type.lower(),
                Headers(response_headers),
            )
            try:
                self.api.validate_response(request, response)
            except ResponseNotFound:
                self.undeclared.append(f"{where} -> {status}")
            except Exception as exc:
                problems.append(f"response {where} -> {status}: {exc} {getattr(exc, '__cause__', '') or ''}")
        self.checked += 1
        return problems

    def check_recorded(self, records: list[dict[str, Any]]) -> list[str]:
        """Violations in a simulator request log (``GET /_sim/requests``), dropped connections excluded."""
        problems: list[str] = []
        for record in records:
            # A "drop" fault (status 499) sent no response: only its request can be checked.
            r = {**record, "status": None} if record.get("status") == 499 else record
            problems += self.check_exchange(
                r["method"],
                r["path"],
                r.get("query") or {},
                r.get("headers") or {},
                r.get("body_text") or "",
                r.get("status"),
                r.get("response_text") or "",
                r.get("response_headers") or {},
            )
        return problems


@lru_cache(maxsize=1)
def _load(path: str) -> OpenAPI:
    # The official file has boolean defaults written as strings: validating the spec itself fails.
    return OpenAPI.from_file_path(path, config=Config(spec_validator_cls=None))


def _missing() -> str:
    return f"Xero OpenAPI spec not found at ../shared/specs/xero/{spec_path().name} (relative to the repository)"


def xero_spec_validator() -> XeroSpecValidator:
    """The validator; in CI a missing spec fails the test, elsewhere it skips with the reason."""
    import pytest

    path = spec_path()
    if not path.is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(_missing())
        pytest.skip(_missing())
    return XeroSpecValidator(_load(str(path)))


def spec_problems(records: list[dict[str, Any]]) -> list[str]:
    """The spec's violations in a simulator request log; none, with a warning, when the spec is missing.

    The missing spec does not skip the caller: its other checks still run, and the spec's own test
    (``xero_spec_validator``) is the one that skips (or fails in CI).
    """
    path = spec_path()
    if not path.is_file():
        warnings.warn(f"{_missing()}: Xero traffic not checked against it", stacklevel=2)
        return []
    return XeroSpecValidator(_load(str(path))).check_recorded(records)
