"""The Durable Functions HTTP management API under /runtime/webhooks/durabletask/ (protocol §4)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from devhost.clock import fmt_status_ts, parse_ts
from devhost.engine import Engine
from devhost.errors import InstanceExistsError, UnknownFunctionError
from devhost.faults import START_MODES
from devhost.history import parse_token, status_history_view
from devhost.model import TERMINAL, Instance

PREFIX = "/runtime/webhooks/durabletask"
RUNNING_STATES = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})
_BAD_ID_CHARS = set("/\\#?")


def _q_bool(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.strip().lower() == "true"  # bool.TryParse is case-insensitive; the SDK sends `True` (§4.2)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(data), content_type="application/json", headers=headers)


def _empty(status: int) -> web.Response:
    # Every response body must be JSON or empty: the SDK reads it with response.json() (§4.2).
    return web.Response(status=status)


def _compact(body: str) -> str:
    """Newtonsoft re-serialises a parsed JSON body compactly, without escaping non-ASCII."""
    return json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":"))


def client_binding_json(base_url: str, hub: str, task_hub: str | None = None, connection: str | None = None) -> str:
    """The durableClient binding value (§4.1). rpcBaseUrl points at this same server, with a trailing slash."""
    hub_name = task_hub or hub
    api = f"{base_url}{PREFIX}"
    q = f"taskHub={hub_name}&connection=Storage"
    inst = f"{api}/instances/INSTANCEID"
    return json.dumps(
        {
            "taskHubName": hub_name,
            "connectionName": connection,
            "creationUrls": {
                "createNewInstancePostUri": f"{api}/orchestrators/{{functionName}}[/{{instanceId}}]",
                "createAndWaitOnNewInstancePostUri": (
                    f"{api}/orchestrators/{{functionName}}[/{{instanceId}}]"
                    "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}"
                ),
            },
            "managementUrls": {
                "id": "INSTANCEID",
                "statusQueryGetUri": f"{inst}?{q}",
                "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{q}",
                "terminatePostUri": f"{inst}/terminate?reason={{text}}&{q}",
                "rewindPostUri": f"{inst}/rewind?reason={{text}}&{q}",
                "purgeHistoryDeleteUri": f"{inst}?{q}",
                "restartPostUri": f"{inst}/restart?{q}",
                "suspendPostUri": f"{inst}/suspend?reason={{text}}&{q}",
                "resumePostUri": f"{inst}/resume?reason={{text}}&{q}",
            },
            "baseUrl": api,
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": f"{api}/",
            "httpBaseUrl": None,
        }
    )


class DurableHttpApi:
    def __init__(self, engine: Engine, hub: str) -> None:
        self.engine = engine
        self.hub = hub

    def routes(self) -> list[web.RouteDef]:
        p = PREFIX
        return [
            web.post(p + "/orchestrators/{name}", self.start),
            web.post(p + "/orchestrators/{name}/{instance_id}", self.start),
            web.get(p + "/instances", self.list_instances),
            web.get(p + "/instances/", self.list_instances),
            web.delete(p + "/instances", self.purge_many),
            web.delete(p + "/instances/", self.purge_many),
            web.get(p + "/instances/{instance_id}", self.get_status),
            web.delete(p + "/instances/{instance_id}", self.purge_one),
            web.post(p + "/instances/{instance_id}/raiseEvent/{event}", self.raise_event),
            web.post(p + "/instances/{instance_id}/terminate", self.terminate),
            web.post(p + "/instances/{instance_id}/suspend", self.suspend),
            web.post(p + "/instances/{instance_id}/resume", self.resume),
            web.post(p + "/instances/{instance_id}/rewind", self.rewind),
            web.post(p + "/instances/{instance_id}/restart", self.restart),
            web.post(p + "/entities/{name}/{key}", self.signal_entity),
            web.delete(p + "/entities/{name}/{key}", self.delete_entity),
            web.get(p + "/entities/{name}/{key}", self.read_entity),
        ]

    # ----- helpers ---------------------------------------------------------------------------------------

    def _origin(self, request: web.Request) -> str:
        return str(request.url.origin())

    def check_status_payload(self, origin: str, instance_id: str) -> dict[str, str]:
        inst = f"{origin}{PREFIX}/instances/{instance_id}"
        q = f"taskHub={self.hub}&connection=Storage"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{inst}?{q}",
            "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{q}",
            "terminatePostUri": f"{inst}/terminate?reason={{text}}&{q}",
            "purgeHistoryDeleteUri": f"{inst}?{q}",
            "restartPostUri": f"{inst}/restart?{q}",
            "suspendPostUri": f"{inst}/suspend?reason={{text}}&{q}",
            "resumePostUri": f"{inst}/resume?reason={{text}}&{q}",
        }

    def status_payload(
        self, inst: Instance, show_input: bool, show_history: bool = False, show_history_output: bool = False
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": inst.name,
            "instanceId": inst.instance_id,
            "runtimeStatus": inst.status,
            "input": parse_token(inst.input_text) if show_input else None,
            "customStatus": inst.custom_status,
            "output": parse_token(inst.output_text),
            "createdTime": fmt_status_ts(_dt(inst.created)),
            "lastUpdatedTime": fmt_status_ts(_dt(inst.last_updated)),
        }
        if show_history:
            data["historyEvents"] = status_history_view(inst.history, show_input, show_history_output)
        return data

    @staticmethod
    def _bad_request(message: str) -> web.Response:
        return _json(
            {
                "Message": "One or more of the arguments submitted is incorrect",
                "ExceptionMessage": message,
                "ExceptionType": "System.ArgumentException",
                "StackTrace": None,
            },
            status=400,
        )

    # ----- orchestrations --------------------------------------------------------------------------------

    async def start(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        instance_id = request.match_info.get("instance_id") or uuid.uuid4().hex
        if instance_id.startswith("@") or any(c in _BAD_ID_CHARS or ord(c) < 32 for c in instance_id):
            return self._bad_request(f"Instance ID '{instance_id}' contains invalid characters.")
        try:
            durable_name = self.engine.orchestrator_name(name)
        except UnknownFunctionError as exc:
            return self._bad_request(str(exc))
        if self.engine.faults.take(durable_name, START_MODES) is not None:
            return _json(
                {
                    "Message": "An error has occurred.",
                    "ExceptionMessage": "The task hub's storage could not be reached (devhost fault refuse_start).",
                    "ExceptionType": "Azure.RequestFailedException",
                    "StackTrace": None,
                },
                status=503,
            )
        body = await request.text()
        input_text: str | None = None
        if body.strip():
            try:
                input_text = _compact(body)
            except ValueError:
                return self._bad_request("The request content is not valid JSON.")
        try:
            self.engine.start_instance(durable_name, instance_id, input_text, version=request.query.get("version", ""))
        except InstanceExistsError as exc:
            return _json(
                {
                    "Message": "An error has occurred.",
                    "ExceptionMessage": str(exc),
                    "ExceptionType": "System.InvalidOperationException",
                    "StackTrace": None,
                },
                status=500,
            )
        self.engine.flush()
        payload = self.check_status_payload(self._origin(request), instance_id)
        return _json(payload, status=202, headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    async def get_status(self, request: web.Request) -> web.Response:
        inst = self.engine.instances.get(request.match_info["instance_id"])
        if inst is None:
            return _empty(404)
        payload = self.status_payload(
            inst,
            _q_bool(request, "showInput", True),
            _q_bool(request, "showHistory", False),
            _q_bool(request, "showHistoryOutput", False),
        )
        if inst.status in RUNNING_STATES:
            location = self.check_status_payload(self._origin(request), inst.instance_id)["statusQueryGetUri"]
            return _json(payload, status=202, headers={"Location": location, "Retry-After": "5"})
        return _json(payload, status=200)

    def _filter(self, request: web.Request) -> list[Instance]:
        created_from = request.query.get("createdTimeFrom")
        created_to = request.query.get("createdTimeTo")
        statuses = {s.strip() for s in request.query.get("runtimeStatus", "").split(",") if s.strip()}
        prefix = request.query.get("instanceIdPrefix", "")
        t_from = parse_ts(created_from).timestamp() if created_from else None
        t_to = parse_ts(created_to).timestamp() if created_to else None
        out = []
        for inst in self.engine.instances.values():
            if t_from is not None and inst.created < t_from:
                continue
            if t_to is not None and inst.created > t_to:
                continue
            if statuses and inst.status not in statuses:
                continue
            if prefix and not inst.instance_id.startswith(prefix):
                continue
            out.append(inst)
        out.sort(key=lambda i: (i.created, i.instance_id))
        return out

    async def list_instances(self, request: web.Request) -> web.Response:
        try:
            matches = self._filter(request)
            top = int(request.query.get("top", "100"))
        except ValueError as exc:
            return self._bad_request(str(exc))
        top = max(1, top)
        token = request.headers.get("x-ms-continuation-token")
        if token and token != "null":  # noqa: S105 - a continuation token, not a secret
            try:
                created, last_id = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                return self._bad_request("Invalid continuation token.")
            matches = [i for i in matches if (i.created, i.instance_id) > (float(created), str(last_id))]
        page = matches[:top]
        headers: dict[str, str] = {}
        if len(matches) > top:
            last = page[-1]
            headers["x-ms-continuation-token"] = base64.urlsafe_b64encode(
                json.dumps([last.created, last.instance_id]).encode()
            ).decode()
        show_input = _q_bool(request, "showInput", False)
        return _json([self.status_payload(i, show_input) for i in page], headers=headers)

    async def purge_one(self, request: web.Request) -> web.Response:
        if self.engine.purge(request.match_info["instance_id"]):
            return _json({"instancesDeleted": 1})
        return _empty(404)

    async def purge_many(self, request: web.Request) -> web.Response:
        if not request.query.get("createdTimeFrom"):
            return self._bad_request("A createdTimeFrom value is required to purge instance history.")
        try:
            matches = self._filter(request)
        except ValueError as exc:
            return self._bad_request(str(exc))
        n = 0
        for inst in matches:
            # Only finished instances are purged by filter; a running one keeps its history.
            if inst.status in TERMINAL and self.engine.purge(inst.instance_id):
                n += 1
        if n == 0:
            return _empty(404)
        return _json({"instancesDeleted": n})

    async def raise_event(self, request: web.Request) -> web.Response:
        inst = self.engine.instances.get(request.match_info["instance_id"])
        if inst is None:
            return _empty(404)
        if inst.terminal:
            return _empty(410)
        body = await request.text()
        input_text: str | None = None
        if body.strip():
            if request.content_type not in ("application/json", "text/json"):
                return self._bad_request("Only application/json request content is supported")
            try:
                input_text = _compact(body)
            except ValueError:
                return self._bad_request("Invalid JSON content.")
        self.engine.raise_event(inst, request.match_info["event"], input_text)
        return _empty(202)

    async def _lifecycle(self, request: web.Request, op: str) -> web.Response:
        inst = self.engine.instances.get(request.match_info["instance_id"])
        if inst is None:
            return _empty(404)
        if inst.terminal:
            return _empty(410)
        reason = request.query.get("reason")
        if op == "terminate":
            self.engine.terminate(inst, reason)
        elif op == "suspend":
            self.engine.suspend(inst, reason)
        else:
            self.engine.resume(inst, reason)
        return _empty(202)

    async def terminate(self, request: web.Request) -> web.Response:
        return await self._lifecycle(request, "terminate")

    async def suspend(self, request: web.Request) -> web.Response:
        return await self._lifecycle(request, "suspend")

    async def resume(self, request: web.Request) -> web.Response:
        return await self._lifecycle(request, "resume")

    async def rewind(self, request: web.Request) -> web.Response:
        inst = self.engine.instances.get(request.match_info["instance_id"])
        if inst is None:
            return _empty(404)
        return _json("Rewind is not supported by devhost.", status=410)

    async def restart(self, request: web.Request) -> web.Response:
        inst = self.engine.instances.get(request.match_info["instance_id"])
        if inst is None:
            return self._bad_request(f"No instance with ID '{request.match_info['instance_id']}' was found.")
        new_id = uuid.uuid4().hex if _q_bool(request, "restartWithNewInstanceId", True) else inst.instance_id
        started = inst.history[1] if len(inst.history) > 1 else {}
        try:
            self.engine.start_instance(inst.name, new_id, started.get("Input", inst.input_text))
        except InstanceExistsError as exc:
            return _json({"Message": "An error has occurred.", "ExceptionMessage": str(exc)}, status=500)
        self.engine.flush()
        payload = self.check_status_payload(self._origin(request), new_id)
        return _json(payload, status=202, headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    # ----- entities --------------------------------------------------------------------------------------

    @staticmethod
    def _entity_key(request: web.Request) -> tuple[str, str]:
        key = request.match_info["key"]
        return request.match_info["name"], "" if key == "$" else key

    async def signal_entity(self, request: web.Request) -> web.Response:
        name, key = self._entity_key(request)
        op = request.query.get("op")
        if not op:
            return self._bad_request("The 'op' query parameter is required.")
        if name.lower() not in self.engine.index.entities:
            return self._bad_request(f"The function '{name}' doesn't exist, is disabled, or is not an entity function.")
        body = await request.text()
        input_text: str | None = None
        if body:
            if request.content_type in ("application/json", "text/json"):
                try:
                    input_text = _compact(body)
                except ValueError:
                    return self._bad_request("Invalid JSON content.")
            else:
                input_text = body
        self.engine.signal_entity(name, key, op, input_text)
        return _empty(202)

    async def delete_entity(self, request: web.Request) -> web.Response:
        name, key = self._entity_key(request)
        self.engine.signal_entity(name, key, "delete", None)
        return _empty(202)

    async def read_entity(self, request: web.Request) -> web.Response:
        name, key = self._entity_key(request)
        exists, state = self.engine.entities.read_state(name, key)
        if not exists:
            return _empty(404)
        return web.Response(status=200, text=state if state is not None else "null", content_type="application/json")


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
