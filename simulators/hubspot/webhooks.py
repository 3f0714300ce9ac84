"""HubSpot's webhook delivery, simulated: batched, at least once, out of order, retried on a time-scaled schedule.

A test configures one app's subscription (``POST /_sim/webhooks/subscription``); CRM changes made through
the simulator's API then become events that a background thread POSTs to the target URL, signed with v3:

- events that occur within ``batch_window_ms`` of the first pending one go out together, up to
  ``max_batch`` (HubSpot: 100) per POST; ``hold`` keeps them until ``POST /_sim/webhooks/flush``;
- ``duplicates`` (0..1) is the share of events delivered a second time in a later POST (at least once);
- ``shuffle`` mixes the events within each POST and the order of the POSTs (``seed`` makes it repeatable);
- a POST answered with a non-2xx status, not answered within ``timeout_s`` (HubSpot: 5 s) or not
  connected is sent again up to ``max_retries`` (HubSpot: 10) times, ``attemptNumber`` counting up, after
  ``retry_delay`` seconds of HubSpot time divided by the simulator's ``time_scale``.

POSTs go out one at a time, in the order they fall due, so that a test's outcome depends on its seed only.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from simulators.webhook_sender import hubspot_v3_headers

__all__ = ["Dispatcher", "Subscription", "make_posts", "retry_delay"]

# HubSpot's legacy webhook documentation: "the first retry will happen in 2 minutes, the second in 4
# minutes, the third in 8 minutes, etc."; its current one: up to 10 retries over about 24 hours. The cap
# is ours: with it the ten retries add up to about a day (2 + 4 + ... + 256 min, then twice 8 h = 24.5 h).
FIRST_RETRY_S = 120.0
LONGEST_WAIT_S = 8 * 3600.0
CREATION = "deal.creation"
PROPERTY_CHANGE = "deal.propertyChange"
DELETION = "deal.deletion"


def retry_delay(retry: int, time_scale: float = 1.0) -> float:
    """Real seconds to wait before retry number ``retry`` (1 = the first retry) of a failed POST."""
    if retry < 1:
        raise ValueError("retries are numbered from 1")
    hubspot_seconds: float = min(FIRST_RETRY_S * 2.0 ** (retry - 1), LONGEST_WAIT_S)
    return hubspot_seconds / (time_scale if time_scale > 0 else 1.0)


def _chunks(events: Sequence[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [list(events[i : i + size]) for i in range(0, len(events), size)]


def make_posts(
    events: Sequence[dict[str, Any]],
    max_batch: int = 100,
    *,
    duplicates: float = 0.0,
    shuffle: bool = False,
    rng: random.Random | None = None,
) -> list[list[dict[str, Any]]]:
    """The POST bodies (lists of events) one batch of events goes out as.

    In order and ``max_batch`` at a time; then the copies of the events chosen for a second delivery
    (``duplicates``: each event's chance) in POSTs of their own; ``shuffle`` mixes each POST and their order.
    """
    if max_batch < 1 or not 0.0 <= duplicates <= 1.0:
        raise ValueError("max_batch must be >= 1 and duplicates within 0..1")
    rng = rng or random.Random()
    again = [dict(e) for e in events if duplicates > 0 and rng.random() < duplicates]
    posts = _chunks(events, max_batch) + _chunks(again, max_batch)
    if shuffle:
        for post in posts:
            rng.shuffle(post)
        rng.shuffle(posts)
    return posts


@dataclass
class Subscription:
    """One app's webhook settings, as a test gives them (the app's ``webhooks-hsmeta.json`` and more)."""

    target_url: str
    client_secret: str
    app_id: int = 424242
    # [{"subscriptionType": "deal.creation"}, {"subscriptionType": "deal.propertyChange", "propertyName": ...},
    #  {"subscriptionType": "deal.deletion"}]: as the app's webhooks-hsmeta.json subscribes
    subscriptions: list[dict[str, Any]] = field(default_factory=lambda: [
        {"subscriptionType": CREATION}, {"subscriptionType": PROPERTY_CHANGE, "propertyName": "dealstage"}])
    max_batch: int = 100
    batch_window_ms: int = 500
    hold: bool = False
    duplicates: float = 0.0
    shuffle: bool = False
    seed: int | None = None
    timeout_s: float = 5.0
    max_retries: int = 10

    @classmethod
    def from_json(cls, body: Any) -> Subscription:
        """Parse ``POST /_sim/webhooks/subscription``; ValueError names what is wrong."""
        if not isinstance(body, dict):
            raise ValueError("the subscription is a JSON object")
        aliases = {"targetUrl": "target_url", "clientSecret": "client_secret", "appId": "app_id"}
        spec: dict[str, Any] = {aliases.get(str(k), str(k)): v for k, v in body.items()}
        unknown = sorted(set(spec) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown subscription fields: {unknown}")
        if not isinstance(spec.get("target_url"), str) or not spec["target_url"].startswith(("http://", "https://")):
            raise ValueError("targetUrl must be an http(s) URL")
        if not isinstance(spec.get("client_secret"), str) or not spec["client_secret"]:
            raise ValueError("clientSecret is required")
        try:
            sub = cls(**spec)
            for name in ("app_id", "max_batch", "batch_window_ms", "max_retries"):
                setattr(sub, name, int(getattr(sub, name)))
            sub.duplicates, sub.timeout_s = float(sub.duplicates), float(sub.timeout_s)
            sub.hold, sub.shuffle = bool(sub.hold), bool(sub.shuffle)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad subscription: {exc}") from None
        if not 1 <= sub.max_batch <= 100 or not 0.0 <= sub.duplicates <= 1.0 or sub.batch_window_ms < 0:
            raise ValueError("max_batch must be 1..100, duplicates 0..1 and batch_window_ms >= 0")
        if sub.timeout_s <= 0 or not 0 <= sub.max_retries <= 10:
            raise ValueError("timeout_s must be > 0 and max_retries 0..10")
        for entry in sub.subscriptions if isinstance(sub.subscriptions, list) else [None]:
            if not isinstance(entry, dict) or entry.get("subscriptionType") not in (CREATION, PROPERTY_CHANGE,
                                                                                     DELETION):
                raise ValueError(f"each subscription needs subscriptionType {CREATION}, {PROPERTY_CHANGE} "
                                 f"or {DELETION}")
            if entry["subscriptionType"] == PROPERTY_CHANGE and not entry.get("propertyName"):
                raise ValueError(f"a {PROPERTY_CHANGE} subscription needs a propertyName")
        return sub

    def subscription_id(self, kind: str, prop: str | None) -> int | None:
        """The id of the active subscription an event of ``kind`` (on ``prop``) falls under, else None."""
        for index, entry in enumerate(self.subscriptions):
            if entry.get("active", True) is False or entry["subscriptionType"] != kind:
                continue
            if kind == PROPERTY_CHANGE and entry.get("propertyName") != prop:
                continue
            return 1001 + index
        return None


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    post: int = field(compare=False)
    events: list[dict[str, Any]] = field(compare=False)
    attempt: int = field(default=0, compare=False)


Sender = Callable[[str, bytes, dict[str, str], float], int]


def _http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    with httpx.Client(timeout=timeout) as client:
        return client.post(url, content=body, headers=headers).status_code


class Dispatcher:
    """Delivers one subscription's events from a background thread; ``stop`` ends it (pending work is dropped)."""

    def __init__(self, sub: Subscription, portal_id: int, time_scale: float = 1.0, *,
                 clock: Callable[[], float] = time.monotonic, send: Sender = _http_post) -> None:
        self.sub = sub
        self.portal_id = portal_id
        self.time_scale = time_scale
        self._clock = clock
        self._send = send
        self._rng = random.Random(sub.seed)
        self._cond = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._first_at = 0.0
        self._jobs: list[_Job] = []
        self._in_flight = 0
        self._seq = itertools.count(1)
        self._posts = itertools.count(1)
        self._event_ids = itertools.count(1)
        self._records: list[dict[str, Any]] = []
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="hubspot-webhooks", daemon=True)

    # --- the simulator's side ---

    def start(self) -> Dispatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """End the thread: wait ``timeout`` seconds for it (None: a POST in flight's own timeout; 0: do not
        wait, as the simulator's request handlers must not block its event loop). Nothing is sent after."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(self.sub.timeout_s + 2.0 if timeout is None else timeout)

    def event(self, kind: str, object_id: str, occurred_at: int, prop: str | None = None,
              value: str | None = None) -> dict[str, Any] | None:
        """Queue the event of a CRM change if the app subscribed to it; the event, else None."""
        subscription_id = self.sub.subscription_id(kind, prop)
        if subscription_id is None:
            return None
        event: dict[str, Any] = {
            "eventId": next(self._event_ids), "subscriptionId": subscription_id, "portalId": self.portal_id,
            "appId": self.sub.app_id, "occurredAt": occurred_at, "subscriptionType": kind, "attemptNumber": 0,
            "objectId": int(object_id), "changeSource": "CRM_UI",
        }
        if kind == PROPERTY_CHANGE:
            event.update(propertyName=prop, propertyValue=value)
        else:
            event["changeFlag"] = "DELETED" if kind == DELETION else "NEW"
        with self._cond:
            if not self._pending:
                self._first_at = self._clock()
            self._pending.append(event)
            self._cond.notify_all()
        return event

    def flush(self) -> int:
        """Send the pending events now (held or inside the batch window); how many there were."""
        with self._cond:
            count = len(self._pending)
            self._cut()
            self._cond.notify_all()
        return count

    def status(self) -> dict[str, Any]:
        with self._cond:
            return {
                "deliveries": [dict(r) for r in self._records],
                "pending": len(self._pending),
                "queued": len(self._jobs),
                "in_flight": self._in_flight,
                "idle": not self._pending and not self._jobs and not self._in_flight,
            }

    # --- the thread ---

    def _cut(self) -> None:
        """Turn the pending events into POSTs due now (caller holds the lock)."""
        if not self._pending:
            return
        events, self._pending = self._pending, []
        now = self._clock()
        for body in make_posts(events, self.sub.max_batch, duplicates=self.sub.duplicates,
                               shuffle=self.sub.shuffle, rng=self._rng):
            heapq.heappush(self._jobs, _Job(now, next(self._seq), next(self._posts), body))

    def _next_job(self) -> _Job | None:
        """Wait for a POST that is due (None once stopped)."""
        with self._cond:
            while not self._stopped:
                now = self._clock()
                window_ends = self._first_at + self.sub.batch_window_ms / 1000
                if self._pending and not self.sub.hold and now >= window_ends:
                    self._cut()
                    continue
                if self._jobs and self._jobs[0].due <= now:
                    self._in_flight += 1
                    return heapq.heappop(self._jobs)
                waits = [self._jobs[0].due - now] if self._jobs else []
                if self._pending and not self.sub.hold:
                    waits.append(window_ends - now)
                self._cond.wait(max(0.001, min(waits)) if waits else None)
        return None

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            record = self._deliver(job)
            with self._cond:
                self._in_flight -= 1
                if record["status"] is None or not 200 <= record["status"] < 300:
                    if job.attempt < self.sub.max_retries and not self._stopped:
                        job.attempt += 1
                        wait = retry_delay(job.attempt, self.time_scale)
                        record["retry_in_s"] = round(wait, 3)
                        job.due, job.seq = self._clock() + wait, next(self._seq)
                        heapq.heappush(self._jobs, job)
                    else:
                        record["gave_up"] = True
                self._records.append(record)
                self._cond.notify_all()

    def _deliver(self, job: _Job) -> dict[str, Any]:
        events = [{**e, "attemptNumber": job.attempt} for e in job.events]
        body = json.dumps(events).encode()
        stamp = int(time.time() * 1000)
        headers = hubspot_v3_headers(self.sub.client_secret, self.sub.target_url, body, stamp)
        record: dict[str, Any] = {"post": job.post, "attempt": job.attempt, "events": events, "status": None,
                                  "error": None, "sent_at": stamp}
        started = time.monotonic()
        try:
            record["status"] = self._send(self.sub.target_url, body, headers, self.sub.timeout_s)
        except httpx.TimeoutException:
            record["error"] = f"no answer within {self.sub.timeout_s:g} s"
        except (httpx.HTTPError, OSError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        record["elapsed_ms"] = int((time.monotonic() - started) * 1000)
        return record
