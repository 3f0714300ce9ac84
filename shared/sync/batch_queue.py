"""The per-(organisation, step kind) queue of batched steps: a pure reducer the ``batch_queue`` entity runs.

Entity operations are serial, so ``take`` and ``withdraw`` are atomic with respect to each other: an item
is either still queued (withdrawn, nothing was sent for it) or taken by exactly one batch. Time comes in
each operation's input (the caller's replay-safe clock): an entity has none of its own.

Group commit with a gather: a flusher's ``take`` may be told to come back later (``wait_until``) while a
burst is still arriving, so that its batch leaves full (the kind's limit), once the arrivals pause
(``quiet_seconds`` after the last enqueue) or when its oldest item has waited ``max_wait_seconds``. Only
items of deals that come in a group (a scheduled wave, a multi-deal delivery: enqueued with ``gather``) make
a batch gather; a lone deal never waits for one: with nothing queued it goes straight to its activity
(``solo``), and its later steps, if they queue, leave at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

JsonDict = dict[str, Any]
MAX_TAKEN = 1000  # taken records kept for late withdrawals; a batch's are dropped once it delivered
SOLO_SECONDS = 60  # how long a lone step that went straight to its activity holds the solo slot
# After a lone step, the next ones queue for a while: the rest of a burst whose first member went alone
# (a batch's deliveries arrive together at the next step) fills a batch instead of another lone call.
SOLO_COOLDOWN_SECONDS = 5


def _empty() -> JsonDict:
    # taken: item key -> batch id; batches: each taken batch's items as taken (so that a deal which gave up on
    # its batch can send that very request again); given_up: item key -> the batch its deal gave up on.
    # queued_at: item key -> when it was queued; last_at: the latest enqueue; grouped: keys of items whose
    # deals come in a group (all three for the gather).
    return {"items": [], "taken": {}, "batches": {}, "given_up": {}, "epoch": 0, "active": False, "seen": "",
            "solo_until": "", "solo_by": "", "queued_at": {}, "last_at": "", "grouped": {}}


def _before(stamp: str, now: datetime) -> bool:
    return not stamp or datetime.fromisoformat(stamp) <= now


def _flusher_alive(state: JsonDict, now: datetime, lease: float) -> bool:
    # A flusher that has not taken for longer than the lease is taken for dead (terminated, or its host
    # lost): the next enqueue starts another, and the old one's next take is told it is stale.
    if not state["active"] or not state["seen"]:
        return False
    return now < datetime.fromisoformat(state["seen"]) + timedelta(seconds=lease)


def enqueue(state: JsonDict, request: JsonDict) -> tuple[JsonDict, JsonDict]:
    """Queue an item; say whether the caller goes alone (nothing queued, no flusher: group commit's first
    member goes at once, straight to its activity) or must wake a flusher (and which epoch)."""
    now, lease, item = datetime.fromisoformat(request["now"]), float(request["lease_seconds"]), request["item"]
    if item["key"] in state["given_up"]:
        # Its deal gave up on a batch that took it and never answered: that batch may still make its call, so
        # every later attempt sends the same request again (same body, same key) until Xero has answered it.
        return state, {"resend": _resend(state, state["given_up"][item["key"]])}
    alive = _flusher_alive(state, now, lease)
    # The cool-down holds back the rest of a burst, not the lone deal's own next step of this kind (its
    # write-back after its claim): that one may go alone again.
    free = _before(state["solo_until"], now) or state["solo_by"] == item["instance"]
    if request.get("solo_ok") and not state["items"] and not alive and free:
        state["solo_until"] = (now + timedelta(seconds=SOLO_SECONDS)).isoformat()
        state["solo_by"] = item["instance"]
        return state, {"solo": True}
    state["items"] = [i for i in state["items"] if i["key"] != item["key"]] + [item]
    state["queued_at"][item["key"]] = state["last_at"] = now.isoformat()
    if request.get("gather"):
        state["grouped"][item["key"]] = True
    else:
        state["grouped"].pop(item["key"], None)
    if alive:
        return state, {"queued": True}
    state["epoch"] += 1
    state["active"], state["seen"] = True, now.isoformat()
    return state, {"queued": True, "wake": state["epoch"]}


def solo_done(state: JsonDict, request: JsonDict) -> tuple[JsonDict, JsonDict]:
    now = datetime.fromisoformat(request["now"])
    state["solo_until"] = (now + timedelta(seconds=SOLO_COOLDOWN_SECONDS)).isoformat()
    return state, {}


def _gather_until(state: JsonDict, request: JsonDict) -> str:
    """When the batch should leave, if later than now: a partial batch waits while arrivals go on."""
    quiet = float(request.get("quiet_seconds", 0))
    if quiet <= 0 or len(state["items"]) >= request["max"]:
        return ""
    if not any(i["key"] in state["grouped"] for i in state["items"]):
        return ""  # only lone deals' steps: nobody else is coming
    now = datetime.fromisoformat(request["now"])
    stamps = [datetime.fromisoformat(state["queued_at"].get(i["key"]) or request["now"]) for i in state["items"]]
    last = datetime.fromisoformat(state["last_at"]) if state["last_at"] else max(stamps)
    due = min(last + timedelta(seconds=quiet),
              min(stamps) + timedelta(seconds=max(quiet, float(request.get("max_wait_seconds", 0)))))
    return due.isoformat() if due > now else ""


def take(state: JsonDict, request: JsonDict) -> tuple[JsonDict, JsonDict]:
    """Up to ``max`` items, oldest first, for batch ``batch``; none (and the flusher ends) when the queue is
    empty or the caller's epoch is no longer the current flusher's; none and ``wait_until`` while a partial
    batch is still gathering (the flusher sleeps until then and takes again)."""
    if request["epoch"] != state["epoch"]:
        return state, {"items": [], "stale": True}
    if not state["items"]:
        state["active"] = False
        return state, {"items": []}
    state["seen"] = request["now"]  # a gathering flusher is alive: enqueues must not start another
    wait_until = _gather_until(state, request)
    if wait_until:
        return state, {"items": [], "wait_until": wait_until}
    taken, state["items"] = state["items"][: request["max"]], state["items"][request["max"]:]
    for i in taken:
        state["queued_at"].pop(i["key"], None)
        state["grouped"].pop(i["key"], None)
    state["taken"].update({i["key"]: request["batch"] for i in taken})
    state["batches"][request["batch"]] = taken
    while len(state["taken"]) > MAX_TAKEN:
        state["taken"].pop(next(iter(state["taken"])))
    while len(state["given_up"]) > MAX_TAKEN:
        state["given_up"].pop(next(iter(state["given_up"])))
    kept = set(state["taken"].values()) | set(state["given_up"].values())
    state["batches"] = {b: items for b, items in state["batches"].items() if b in kept}
    return state, {"items": taken}


def _resend(state: JsonDict, batch: str) -> JsonDict:
    return {"batch": batch, "items": state["batches"][batch]}


def withdraw(state: JsonDict, request: JsonDict) -> tuple[JsonDict, JsonDict]:
    """A deal that waited too long takes its item back: ``withdrawn`` (never sent), or ``taken`` by which
    batch with that batch's items to ``resend`` (it may still make its call); unknown counts as taken (its
    record may have been dropped)."""
    key = request["key"]
    if any(i["key"] == key for i in state["items"]):
        state["items"] = [i for i in state["items"] if i["key"] != key]
        state["queued_at"].pop(key, None)
        state["grouped"].pop(key, None)
        return state, {"withdrawn": True}
    batch = state["taken"].get(key, "")
    if batch not in state["batches"]:
        return state, {"taken": batch}
    state["given_up"][key] = batch
    return state, {"taken": batch, "resend": _resend(state, batch)}


def settled(state: JsonDict, request: JsonDict) -> tuple[JsonDict, JsonDict]:
    """Xero answered the item in a re-sent batch: the batch's key holds that answer, a late run replays it."""
    state["given_up"].pop(request["key"], None)
    return state, {}


def done(state: JsonDict, request: JsonDict) -> tuple[JsonDict, JsonDict]:
    # The batch delivered: its activity has finished (it cannot run late any more) and its call was made.
    batch = request["batch"]
    state["taken"] = {k: b for k, b in state["taken"].items() if b != batch}
    state["given_up"] = {k: b for k, b in state["given_up"].items() if b != batch}
    state["batches"].pop(batch, None)
    return state, {}


OPERATIONS = {"enqueue": enqueue, "solo_done": solo_done, "take": take, "withdraw": withdraw,
              "settled": settled, "done": done}


def apply_queue(state: JsonDict | None, operation: str | None, request: Any) -> tuple[JsonDict, JsonDict]:
    """Run one operation; an unknown one (or none: the SDK types the name as optional) changes nothing and says so."""
    current = {**_empty(), **(state or {})}
    handler = OPERATIONS.get(operation or "")
    if handler is None:
        return current, {"error": f"unknown operation {operation!r}"}
    return handler(current, dict(request or {}))
