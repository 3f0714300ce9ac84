"""HTTP-triggered functions at /<routePrefix>/<route>: route templates, RpcHttp to the worker and back (§8.3)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from devhost import rpc
from devhost.loader import FunctionInfo
from devhost.worker import Worker

log = logging.getLogger("devhost.http")

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}?=]*)?(\?)?(?:=[^}]*)?\}")


def compile_route(template: str) -> re.Pattern[str]:
    """Azure route template → regex: `{name}`, `{name?}` (optional segment), `{name:constraint}`, `{*rest}`."""
    segments = [s for s in template.strip("/").split("/") if s != ""]
    pattern = ""
    for seg in segments:
        m = _PARAM.fullmatch(seg)
        if m:
            catch_all, name, optional = m.group(1), m.group(2), m.group(3)
            if catch_all:
                pattern += f"(?:/(?P<{name}>.*))?"
            elif optional:
                pattern += f"(?:/(?P<{name}>[^/]+))?"
            else:
                pattern += f"/(?P<{name}>[^/]+)"
            continue
        # Literal text, possibly with embedded parameters (e.g. `file.{ext}`).
        pos = 0
        piece = ""
        for pm in _PARAM.finditer(seg):
            piece += re.escape(seg[pos : pm.start()]) + f"(?P<{pm.group(2)}>[^/]+?)"
            pos = pm.end()
        piece += re.escape(seg[pos:])
        pattern += "/" + piece
    return re.compile("^" + pattern + "/?$", re.IGNORECASE)


@dataclass
class HttpRoute:
    info: FunctionInfo
    regex: re.Pattern[str]
    methods: frozenset[str]


def _methods(trigger: dict[str, Any]) -> frozenset[str]:
    raw = trigger.get("methods")
    if not raw:
        return frozenset()  # no restriction
    return frozenset(str(getattr(m, "value", m)).upper().split(".")[-1] for m in raw)


class HttpTriggerRouter:
    def __init__(
        self,
        functions: list[FunctionInfo],
        route_prefix: str,
        worker: Worker,
        client_json: Callable[[FunctionInfo, str], str],
    ) -> None:
        self.prefix = "/" + route_prefix.strip("/") if route_prefix.strip("/") else ""
        self.worker = worker
        self.client_json = client_json
        self.routes: list[HttpRoute] = []
        for info in functions:
            template = str(info.trigger.get("route") or info.name)
            self.routes.append(HttpRoute(info, compile_route(template), _methods(info.trigger)))
        # Literal routes before parameterised ones, like ASP.NET route precedence (roughly).
        self.routes.sort(key=lambda r: r.regex.pattern.count("(?P<"))

    def match(self, path: str, method: str) -> tuple[HttpRoute, dict[str, str]] | bool | None:
        if self.prefix:
            if not path.lower().startswith(self.prefix.lower()):
                return None
            path = path[len(self.prefix) :]
        path_matched = False
        for route in self.routes:
            m = route.regex.match(path or "/")
            if m is None and path in ("", "/"):
                m = route.regex.match("")
            if m is None:
                continue
            path_matched = True
            if route.methods and method.upper() not in route.methods:
                continue
            params = {k: v for k, v in m.groupdict().items() if v is not None}
            return route, params
        return path_matched  # True → 405-ish (we answer 404 like the host), False → not ours

    async def handle(self, request: web.Request) -> web.StreamResponse:
        found = self.match(request.path, request.method)
        if not isinstance(found, tuple):
            return web.Response(status=404)
        route, params = found
        info = route.info
        if not all(_is_text(v) for v in request.headers.values()):
            # The Functions host (Kestrel) refuses such a request itself; the function never sees it.
            return web.Response(status=400, text="Bad Request: a header value is not valid text")
        body = await request.read()
        p = rpc.protos()
        http = p.RpcHttp(
            method=request.method,
            url=str(request.url),
            headers=host_joined(request.headers.items()),
            query=host_joined(request.query.items()),
            params=params,
            body=rpc.raw_bytes(body),
        )
        inputs: dict[str, Any] = {info.trigger_name: p.TypedData(http=http)}
        base_url = str(request.url.origin())
        for client_param in info.client_params:
            inputs[client_param] = rpc.string(self.client_json(info, base_url))
        try:
            done = await self.worker.invoke(info.function_id, inputs)
        except Exception:
            log.exception("HTTP function '%s' could not be invoked", info.name)
            return web.Response(status=500)
        if not done.ok:
            # As in Azure: an exception, or a return value the http output binding cannot encode, is a bare 500.
            log.error("HTTP function '%s' failed: %s", info.name, done.error)
            return web.Response(status=500)
        return to_aiohttp_response(done.return_value)


def host_joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names become one value joined with "," and empty values are left out, as the host builds the
    RpcHttp maps from ASP.NET's StringValues (names compared case-insensitively; the first spelling is kept)."""
    joined: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in pairs:
        key = name.casefold()
        spelling.setdefault(key, name)
        if value != "":
            joined.setdefault(key, []).append(value)
    return {spelling[k]: ",".join(v) for k, v in joined.items()}


def _is_text(value: str) -> bool:
    """False for header bytes that are not UTF-8 (aiohttp hands them over as lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_aiohttp_response(value: Any) -> web.Response:
    """The worker's `$return` TypedData as the host writes it: RpcHttp with its own headers, or plain text."""
    kind, data = rpc.typed_value(value)
    if kind == "http":
        body_kind, body = rpc.typed_value(data.body)
        payload = body if isinstance(body, bytes) else (str(body).encode() if body_kind else b"")
        resp = web.Response(status=int(data.status_code or "200"), body=payload)
        for name, header in data.headers.items():
            resp.headers[_KNOWN_HEADERS.get(name.lower(), name)] = header
        for cookie in data.cookies:
            resp.headers.add("Set-Cookie", _cookie_text(cookie))
        return resp
    if kind is None:
        return web.Response(status=204)
    # A string (or other scalar) return: the host answers 200 with it as the body (content negotiation).
    text = rpc.typed_text(value) or ""
    return web.Response(status=200, text=text, content_type="text/plain", charset="utf-8")


# Kestrel writes the headers it knows with their canonical spelling, whatever case the worker used; others
# keep theirs.
_KNOWN_HEADERS = {
    name.lower(): name
    for name in (
        "Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Disposition",
        "Cache-Control", "ETag", "Expires", "Last-Modified", "Location", "Retry-After", "WWW-Authenticate",
    )
}


def _cookie_text(cookie: Any) -> str:
    """An RpcHttpCookie as the Set-Cookie header the host writes (attributes the worker left empty are left out)."""
    parts = [f"{cookie.name}={cookie.value}"]
    if cookie.HasField("path") and cookie.path.value:
        parts.append(f"Path={cookie.path.value}")
    if cookie.HasField("domain") and cookie.domain.value:
        parts.append(f"Domain={cookie.domain.value}")
    if cookie.HasField("max_age"):
        parts.append(f"Max-Age={int(cookie.max_age.value)}")
    if cookie.HasField("secure") and cookie.secure.value:
        parts.append("Secure")
    if cookie.HasField("http_only") and cookie.http_only.value:
        parts.append("HttpOnly")
    same_site = {1: "Lax", 2: "Strict", 3: "None"}.get(int(cookie.same_site))
    if same_site:
        parts.append(f"SameSite={same_site}")
    return "; ".join(parts)
