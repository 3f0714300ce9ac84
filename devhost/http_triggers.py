"""HTTP-triggered functions at /<routePrefix>/<route>: route templates, func.HttpRequest in, HttpResponse out."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.invoke import call_function
from devhost.loader import FunctionInfo

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
        executor: Executor,
        app_dir: str,
        client_json: Callable[[FunctionInfo, str], str],
    ) -> None:
        self.prefix = "/" + route_prefix.strip("/") if route_prefix.strip("/") else ""
        self.executor = executor
        self.app_dir = app_dir
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
        headers = dict(request.headers.items())
        if not all(_is_text(v) for v in headers.values()):
            # The Functions host (Kestrel) refuses such a request itself; the function never sees it.
            return web.Response(status=400, text="Bad Request: a header value is not valid text")
        body = await request.read()
        req = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=headers,
            params=dict(request.query.items()),
            route_params=params,
            body=body,
        )
        base_url = str(request.url.origin())
        kwargs: dict[str, Any] = {str(info.trigger["name"]): req}
        for client_param in info.client_params:
            kwargs[client_param] = self.client_json(info, base_url)
        try:
            result = await call_function(info, kwargs, self.app_dir, self.executor)
        except Exception:
            log.exception("HTTP function '%s' failed", info.name)
            return web.Response(status=500)
        return to_aiohttp_response(result)


def _is_text(value: str) -> bool:
    """False for header bytes that are not UTF-8 (aiohttp hands them over as lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_aiohttp_response(result: Any) -> web.Response:
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-type"}
        content_type = result.headers.get("Content-Type") or result.mimetype or "text/plain"
        resp = web.Response(status=result.status_code, body=result.get_body(), headers=headers)
        resp.headers["Content-Type"] = (
            content_type
            if "charset" in content_type or not result.charset
            else f"{content_type}; charset={result.charset}"
        )
        return resp
    if result is None:
        return web.Response(status=204)
    if isinstance(result, bytes):
        return web.Response(status=200, body=result)
    return web.Response(status=200, text=str(result))
