"""Conformance sample app for devhost: one orchestrator per behaviour under test."""

import json
import os
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Per-process counters, so tests can make activities fail a given number of times.
_attempts: dict[str, int] = {}


def _side_effect_log(line: str) -> None:
    path = os.environ.get("CONFORMANCE_SIDE_EFFECT_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="value")
async def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="payload")
def flaky(payload: dict) -> str:
    key = payload["key"]
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] <= payload["fail_times"]:
        raise ValueError(f"attempt {_attempts[key]} failed")
    return f"ok after {_attempts[key]}"


@app.activity_trigger(input_name="msg")
def boom(msg: str) -> str:
    raise ValueError(msg)


@app.activity_trigger(input_name="payload")
def record(payload: dict) -> str:
    _side_effect_log(json.dumps(payload))
    return payload["id"]


@app.activity_trigger(input_name="seconds")
def slow(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="payload")
@app.durable_client_input(client_name="client")
async def start_child(payload: dict, client: df.DurableOrchestrationClient) -> dict:
    """An activity with a durable client binding (Azure allows it): starts an orchestration and reads it back."""
    instance_id = await client.start_new(payload["name"], payload["instance_id"], payload.get("input"))
    status = await client.get_status(instance_id)
    return {"started": instance_id, "seen": status.runtime_status is not None}


@app.orchestration_trigger(context_name="context")
def starts_child(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("start_child", context.get_input()))


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    out = []
    for city in ["Tokyo", "Seattle", "London"]:
        out.append((yield context.call_activity("hello", city)))
    return out


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    n = context.get_input()
    results = yield context.task_all([context.call_activity("double", i) for i in range(n)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):
    args = context.get_input()
    opts = df.RetryOptions(
        first_retry_interval_in_milliseconds=args.get("interval_ms", 1000), max_number_of_attempts=args["max"]
    )
    return (yield context.call_activity_with_retry("flaky", opts, args))


@app.orchestration_trigger(context_name="context")
def catching(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("boom", "bad thing")
    except Exception as exc:
        return {"caught": str(exc)}
    return "not caught"


@app.orchestration_trigger(context_name="context")
def uncaught(context: df.DurableOrchestrationContext):
    context.set_custom_status("about to fail")
    yield context.call_activity("boom", "kaboom")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(hours=1)
    timer = context.create_timer(deadline)
    event = context.wait_for_external_event("Approval")
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return {"approved": event.result}
    return "timed out"


@app.orchestration_trigger(context_name="context")
def wait_timer(context: df.DurableOrchestrationContext):
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(days=2))
    return (context.current_utc_datetime - start).total_seconds()


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    value = context.get_input()
    if value == "fail":
        raise RuntimeError("child exploded")
    return {"child_got": value, "parent": context.parent_instance_id}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    value = context.get_input()
    try:
        result = yield context.call_sub_orchestrator("child", value)
        return {"ok": result}
    except Exception as exc:
        return {"error": str(exc)}


@app.orchestration_trigger(context_name="context")
def parent_retry(context: df.DurableOrchestrationContext):
    opts = df.RetryOptions(1000, 2)
    try:
        yield context.call_sub_orchestrator_with_retry("child", opts, "fail")
    except Exception as exc:
        return {"error": str(exc)}
    return "no error"


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext):
    state = context.get_state(lambda: 0)
    op = context.operation_name
    if op == "add":
        state += context.get_input()
        context.set_state(state)
        context.set_result(state)
    elif op == "get":
        context.set_result(state)
    elif op == "fail":
        raise ValueError("boom!")
    elif op == "reset":
        context.set_state(0)


@app.orchestration_trigger(context_name="context")
def entity_user(context: df.DurableOrchestrationContext):
    key = context.get_input()
    eid = df.EntityId("Counter", key)
    context.signal_entity(eid, "add", 5)
    after_add = yield context.call_entity(eid, "add", 3)
    current = yield context.call_entity(eid, "get")
    try:
        yield context.call_entity(eid, "fail")
        failed = None
    except Exception as exc:
        failed = str(exc)
    return {"after_add": after_add, "current": current, "failed": failed}


@app.orchestration_trigger(context_name="context")
def counter_loop(context: df.DurableOrchestrationContext):
    n = context.get_input()
    if n >= 3:
        return {"final": n, "history_starts_fresh": True}
    yield context.call_activity("hello", str(n))
    context.continue_as_new(n + 1)
    return None


@app.orchestration_trigger(context_name="context")
def waits_forever(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting"})
    value = yield context.wait_for_external_event("Go")
    return value


@app.orchestration_trigger(context_name="context")
def versioned(context: df.DurableOrchestrationContext):
    # Deliberately non-deterministic: the activity name depends on a process-wide setting.
    name = os.environ.get("CONFORMANCE_STEP_ACTIVITY", "hello")
    first = yield context.call_activity(name, "x")
    yield context.wait_for_external_event("Continue")
    second = yield context.call_activity("hello", "y")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def idempotent_pair(context: df.DurableOrchestrationContext):
    key = context.get_input()
    first = yield context.call_activity("record", {"id": f"{key}-1"})
    second = yield context.call_activity("record", {"id": f"{key}-2"})
    return [first, second]


@app.orchestration_trigger(context_name="context")
def slow_pair(context: df.DurableOrchestrationContext):
    a = yield context.call_activity("slow", context.get_input())
    b = yield context.call_activity("hello", "after slow")
    return [a, b]


@app.orchestration_trigger(context_name="context")
def unknown_activity(context: df.DurableOrchestrationContext):
    yield context.call_activity("does_not_exist", 1)
    return "unreachable"


@app.route(route="start/{name}/{instance_id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["name"], req.route_params.get("instance_id"), payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="client/{action}", methods=["GET", "POST"])
@app.durable_client_input(client_name="client")
async def client_ops(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Exercises the unmodified DurableOrchestrationClient against devhost's rpcBaseUrl."""
    action = req.route_params["action"]
    args = req.get_json() if req.get_body() else {}
    result: object
    if action == "start":
        result = await client.start_new(args["name"], args.get("instance_id"), args.get("input"))
    elif action == "status":
        status = await client.get_status(args["instance_id"], show_history=args.get("history", False))
        result = status.to_json() if status else None
        if status and args.get("history"):
            result["historyEvents"] = getattr(status, "historyEvents", None)
    elif action == "raise":
        await client.raise_event(args["instance_id"], args["event"], args.get("data"))
        result = "raised"
    elif action == "signal":
        await client.signal_entity(df.EntityId(args["entity"], args["key"]), args["op"], args.get("input"))
        result = "signalled"
    elif action == "read_entity":
        state = await client.read_entity_state(df.EntityId(args["entity"], args["key"]))
        result = {"exists": state.entity_exists, "state": state.entity_state}
    elif action == "by":
        statuses = await client.get_status_by(
            instance_id_prefix=args.get("prefix"),
            runtime_status=[df.OrchestrationRuntimeStatus(s) for s in args.get("statuses", [])] or None,
        )
        result = sorted(s.instance_id for s in statuses)
    elif action == "terminate":
        await client.terminate(args["instance_id"], args.get("reason", "because"))
        result = "terminated"
    elif action == "purge":
        purged = await client.purge_instance_history(args["instance_id"])
        result = purged.instances_deleted
    else:
        return func.HttpResponse("unknown action", status_code=400)
    return func.HttpResponse(json.dumps(result, default=str), mimetype="application/json")


@app.route(route="sync/{name?}", methods=["GET"])
def sync_http(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name") or req.params.get("name") or "anonymous"
    return func.HttpResponse(
        json.dumps({"hello": name, "method": req.method, "header": req.headers.get("x-test")}),
        mimetype="application/json",
    )


@app.route(route="echo", methods=["POST"])
async def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.get_body(), status_code=201, headers={"x-echo": "1"})


@app.route(route="explode")
def explode(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("http function exploded")


@app.timer_trigger(schedule="%CONFORMANCE_SCHEDULE%", arg_name="timer", run_on_startup=True)
@app.durable_client_input(client_name="client")
async def ticker(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    _side_effect_log(json.dumps({"tick": True, "past_due": timer.past_due}))


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")
@app.durable_client_input(client_name="client")
async def manual_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Never due during tests (midnight, Jan 1), so it only runs when invoked through /admin/functions."""
    instance_id = await client.start_new("sequence")
    _side_effect_log(json.dumps({"manual_tick": True, "past_due": timer.past_due, "started": instance_id}))


# ----- host-side conversions (what the Functions host hands the worker, and how it writes the answer) -----


@app.route(route="query-echo", methods=["GET"])
def query_echo(req: func.HttpRequest) -> func.HttpResponse:
    """Echoes what the function sees of the query string and of repeated headers."""
    seen = {"params": dict(req.params), "accept": req.headers.get("x-multi")}
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")


@app.route(route="returns-dict", methods=["GET"])
def returns_dict(req: func.HttpRequest) -> func.HttpResponse:
    return {"not": "an HttpResponse"}  # type: ignore[return-value]


@app.route(route="returns-none", methods=["GET"])
def returns_none(req: func.HttpRequest) -> func.HttpResponse:
    return None  # type: ignore[return-value]


@app.route(route="returns-text", methods=["GET"])
def returns_text(req: func.HttpRequest) -> str:
    return "plain words"


@app.route(route="invocation-context", methods=["GET"])
def invocation_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    seen = {
        "invocation_id": context.invocation_id,
        "function_name": context.function_name,
        "trace_parent": context.trace_context.trace_parent,
        "retry_count": context.retry_context.retry_count,
        "max_retry_count": context.retry_context.max_retry_count,
    }
    return func.HttpResponse(json.dumps(seen), mimetype="application/json")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", use_monitor=True)
def monitored_timer(timer: func.TimerRequest) -> None:
    """Never due during tests; invoked through /admin/functions to show the timer payload the host sends."""
    _side_effect_log(json.dumps({"probe": True, "past_due": timer.past_due, "schedule": timer.schedule,
                                 "schedule_status": timer.schedule_status}))
