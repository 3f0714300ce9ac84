"""docs/openapi.yaml describes exactly the HTTP routes the function app registers, and is valid OpenAPI 3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "docs" / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

# get_functions() may be called once per process (a second call reports duplicates), and
# tests/test_wiring.py calls it too: enumerate in a fresh interpreter.
ENUMERATE = """
import json, function_app
routes = {}
for f in function_app.app.get_functions():
    t = f.get_trigger()
    if t.get_binding_name() == "httpTrigger":
        routes.setdefault("/" + t.route, set()).update(str(getattr(m, "value", m)).lower() for m in t.methods)
print(json.dumps({k: sorted(v) for k, v in routes.items()}))
"""


def registered_routes() -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", ENUMERATE], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=60)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def spec() -> dict[str, Any]:
    return dict(yaml.safe_load(SPEC.read_text(encoding="utf-8")))


def test_spec_is_valid_openapi_3() -> None:
    document = spec()
    assert str(document["openapi"]).startswith("3.")
    validate(document)


def test_spec_paths_and_methods_are_the_registered_routes() -> None:
    document = spec()
    assert [s["url"] for s in document["servers"]] == ["/api"]  # host.json routePrefix
    described = {path: sorted(m for m in item if m in HTTP_METHODS) for path, item in document["paths"].items()}
    assert described == registered_routes()


def test_every_json_error_uses_the_error_shape() -> None:
    document = spec()
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message"] and set(error["properties"]) == {"error", "message"}
    responses = document["components"]["responses"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, described in operation["responses"].items():
                if int(status) < 400 or (path, status) == ("/health", "503"):  # health reports its checks
                    continue
                response = responses[described["$ref"].rsplit("/", 1)[1]] if "$ref" in described else described
                content = response.get("content")
                if content is None:
                    assert (path, status) == ("/webhooks/xero", "401"), (path, method, status)
                    continue
                assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def _schema_validator(name: str) -> Any:
    from openapi_schema_validator import OAS30Validator

    document = spec()
    # The components travel with the schema, so that its $refs resolve.
    return OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


def test_the_batch_endpoints_answer_as_described() -> None:
    from datetime import UTC, datetime

    from shared.api import batches
    from shared.ledger.batch_rows import from_row, to_row

    started = datetime(2026, 11, 23, 8, tzinfo=UTC)
    row = from_row(to_row({"batch_id": "flush-t-invoice-e1-b0", "kind": "invoice", "org": "t", "key": "batch-k",
                           "size": 2, "items": ["deal-1:invoice:r0", "deal-2:invoice:r0"], "calls": 1, "ok": 1,
                           "rejected": 1, "error": None, "seconds": 0.5, "ended": started.isoformat()}, started))

    class Rows:
        def get(self, batch_id: str) -> dict[str, Any] | None:
            return row if batch_id == row["id"] else None

        def window(self, start: datetime, end: datetime, limit: int = 500) -> tuple[list[dict[str, Any]], bool]:
            return [row], False

    one = batches.get_batch(row["id"], Rows())
    page = batches.list_batches({}, Rows(), started)
    assert (one.status, page.status) == (200, 200)
    _schema_validator("Batch").validate(json.loads(one.body))
    _schema_validator("BatchPage").validate(json.loads(page.body))
    described = spec()["paths"]
    assert set(described["/batches"]["get"]["responses"]) == {"200", "400", "503"}
    assert set(described["/batches/{id}"]["get"]["responses"]) == {"200", "400", "404", "503"}
