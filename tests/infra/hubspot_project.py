"""The HubSpot project's documented shape, and the scopes the HubSpot connector's calls need (read from its code)."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "hubspot-app"
APP_FILE = PROJECT / "src/app/app-hsmeta.json"
WEBHOOKS_FILE = PROJECT / "src/app/webhooks/webhooks-hsmeta.json"
CONNECTOR_FILES = sorted((REPO / "shared/connectors").glob("hubspot*.py"))

# Platform versions whose projects use *-hsmeta.json components (2025.2 introduced them).
PLATFORM_VERSIONS = frozenset({"2025.2", "2026.03", "2026.09"})
UID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
LEGACY_OBJECTS = ("contact", "company", "deal", "ticket", "product", "line_item")
LEGACY_EVENTS = ("creation", "deletion", "propertyChange", "merge", "restore", "associationChange")
SUBSCRIPTION_TYPES = {
    "legacyCrmObjects": frozenset(f"{o}.{e}" for o in LEGACY_OBJECTS for e in LEGACY_EVENTS),
    "crmObjects": frozenset(f"object.{e}" for e in LEGACY_EVENTS),
    "hubEvents": frozenset({"contact.privacyDeletion", "conversation.creation", "conversation.deletion",
                            "conversation.newMessage", "conversation.privacyDeletion",
                            "conversation.propertyChange"}),
}
# GraphQL is an optimisation with REST as the fallback, on Professional/Enterprise hubs only. A static app
# can declare required scopes only, so declaring this one would make the app uninstallable elsewhere.
OPTIONAL_SCOPES = frozenset({"collector.graphql_query.execute"})


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def project_problems(doc: Mapping[str, Any], project_dir: Path = PROJECT) -> list[str]:
    """What is wrong with an ``hsproject.json``."""
    problems = [f"hsproject.json: missing {key}" for key in ("name", "srcDir", "platformVersion") if key not in doc]
    if "name" in doc and not _is_str(doc["name"]):
        problems.append("hsproject.json: name must be a non-empty string")
    if "srcDir" in doc and not (project_dir / str(doc["srcDir"]) / "app").is_dir():
        problems.append(f"hsproject.json: srcDir {doc['srcDir']!r} has no app/ folder")
    if "platformVersion" in doc and doc["platformVersion"] not in PLATFORM_VERSIONS:
        problems.append(f"hsproject.json: platformVersion {doc['platformVersion']!r} is not one of "
                        f"{sorted(PLATFORM_VERSIONS)}")
    return problems


def _component_problems(doc: Mapping[str, Any], kind: str) -> list[str]:
    where = f"{kind}-hsmeta.json"
    problems = [f"{where}: missing {key}" for key in ("uid", "type", "config") if key not in doc]
    if "uid" in doc and not (isinstance(doc["uid"], str) and UID.fullmatch(doc["uid"])):
        problems.append(f"{where}: uid {doc['uid']!r} must be 1-64 letters, digits, '_', '-' or '.'")
    if "type" in doc and doc["type"] != kind:
        problems.append(f"{where}: type {doc['type']!r} must be {kind!r} (its folder's name)")
    if "config" in doc and not isinstance(doc["config"], dict):
        problems.append(f"{where}: config must be an object")
    return problems


def app_problems(doc: Mapping[str, Any]) -> list[str]:
    """What is wrong with an ``app-hsmeta.json`` for a single-account app with a static token."""
    problems = _component_problems(doc, "app")
    config = doc.get("config")
    if not isinstance(config, dict):
        return problems
    name, description = config.get("name"), config.get("description")
    if not (isinstance(name, str) and name and len(name) <= 200 and name == name.strip()):
        problems.append("app-hsmeta.json: config.name must be 1-200 characters, no surrounding spaces")
    if not (isinstance(description, str) and description.strip() and len(description) <= 8192):
        problems.append("app-hsmeta.json: config.description must be 1-8192 characters")
    if config.get("distribution") != "private":
        problems.append(f"app-hsmeta.json: distribution {config.get('distribution')!r} must be 'private' "
                        "(one account, a static token)")
    auth = config.get("auth")
    if not isinstance(auth, dict):
        return [*problems, "app-hsmeta.json: missing config.auth"]
    if auth.get("type") != "static":
        problems.append(f"app-hsmeta.json: auth.type {auth.get('type')!r} must be 'static'")
    required = auth.get("requiredScopes")
    if not (isinstance(required, list) and required and all(_is_str(s) for s in required)):
        problems.append("app-hsmeta.json: auth.requiredScopes must be a non-empty list of scope names")
    elif len(set(required)) != len(required):
        problems.append("app-hsmeta.json: auth.requiredScopes lists a scope twice")
    for key in ("optionalScopes", "conditionallyRequiredScopes"):
        if auth.get(key, []) != []:
            problems.append(f"app-hsmeta.json: auth.{key} must be empty: a static app has required scopes only")
    for key in ("permittedUrls", "support"):
        if key in config and not isinstance(config[key], dict):
            problems.append(f"app-hsmeta.json: config.{key} must be an object")
    return problems


def webhooks_problems(doc: Mapping[str, Any]) -> list[str]:
    """What is wrong with a ``webhooks-hsmeta.json``."""
    problems = _component_problems(doc, "webhooks")
    config = doc.get("config")
    if not isinstance(config, dict):
        return problems
    settings = config.get("settings")
    if not isinstance(settings, dict):
        problems.append("webhooks-hsmeta.json: missing config.settings")
    else:
        url = settings.get("targetUrl")
        if not (isinstance(url, str) and url.startswith("https://")):
            problems.append(f"webhooks-hsmeta.json: settings.targetUrl {url!r} must be an https URL")
        limit = settings.get("maxConcurrentRequests")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            problems.append(f"webhooks-hsmeta.json: settings.maxConcurrentRequests {limit!r} "
                            "must be a positive integer")
    subscriptions = config.get("subscriptions")
    if not isinstance(subscriptions, dict) or not subscriptions:
        return [*problems, "webhooks-hsmeta.json: missing config.subscriptions"]
    for group, entries in subscriptions.items():
        if group not in SUBSCRIPTION_TYPES:
            problems.append(f"webhooks-hsmeta.json: unknown subscription group {group!r}")
            continue
        for entry in entries if isinstance(entries, list) else [entries]:
            kind = entry.get("subscriptionType") if isinstance(entry, dict) else None
            if kind not in SUBSCRIPTION_TYPES[group]:
                problems.append(f"webhooks-hsmeta.json: {group} subscriptionType {kind!r} is not one HubSpot offers")
                continue
            if not isinstance(entry.get("active"), bool):
                problems.append(f"webhooks-hsmeta.json: {kind}: active must be true or false")
            if kind.endswith(".propertyChange") != _is_str(entry.get("propertyName")):
                problems.append(f"webhooks-hsmeta.json: {kind}: propertyName goes with property changes only")
            if (group == "crmObjects") != _is_str(entry.get("objectType")):
                problems.append(f"webhooks-hsmeta.json: {kind}: objectType goes with crmObjects only")
    return problems


@dataclass(frozen=True)
class Call:
    """One HubSpot request the connector's code makes: where, method, path pattern ({} for a value)."""

    where: str
    method: str
    path: str


def _pattern(node: ast.expr) -> str | None:
    """A string or f-string as text with ``{}`` for each interpolated value; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(p.value) if isinstance(p, ast.Constant) else "{}" for p in node.values)
    return None


def _path(node: ast.expr) -> str | None:
    """The request path, with ``self._objects(x)`` and ``self._properties(x)`` expanded."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and len(node.args) == 1
            and node.func.attr in ("_objects", "_properties")):
        inner = _pattern(node.args[0])
        family = node.func.attr.removeprefix("_")
        return None if inner is None else f"/crm/{family}/<version>/{inner}"
    return _pattern(node)


def connector_calls(sources: Mapping[str, str]) -> tuple[list[Call], list[str], set[str]]:
    """Every ``self._http.request(...)`` in the sources; the calls whose path cannot be read; and the
    objects named in ``"associations"`` query parameters (read inline with the deal)."""
    calls: list[Call] = []
    unreadable: list[str] = []
    inline: set[str] = set()
    for name, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "request" and isinstance(node.func.value, ast.Attribute)
                    and node.func.value.attr == "_http"):
                continue
            where = f"{name}:{node.lineno}"
            for keyword in node.keywords:
                if keyword.arg == "params" and isinstance(keyword.value, ast.Dict):
                    for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "associations":
                            listed = _pattern(value)
                            inline |= set(listed.split(",")) if listed else {"{}"}
            method = _pattern(node.args[0]) if node.args else None
            path = _path(node.args[1]) if len(node.args) > 1 else None
            if method is None or path is None:
                unreadable.append(where)
            else:
                calls.append(Call(where, method.upper(), path))
    return calls, unreadable, inline


def _object_access(method: str, rest: str) -> str:
    reads = method == "GET" or (method == "POST" and rest.endswith(("/search", "/batch/read")))
    return "read" if reads else "write"


def scopes_for(call: Call, inline: set[str]) -> set[str] | None:
    """The HubSpot scopes one call needs; None when the path is of a kind this table does not know."""
    parts = call.path.strip("/").split("/")
    if parts[:1] == ["collector"]:
        return {"collector.graphql_query.execute"}
    if len(parts) < 4 or parts[0] != "crm" or parts[3] == "{}":
        return None
    family, obj, rest = parts[1], parts[3], "/".join(parts[4:])
    if family == "objects":
        scopes = {f"crm.objects.{obj}.{_object_access(call.method, call.path)}"}
        if "/associations/" in f"/{rest}/":
            target = parts[parts.index("associations") + 1] if "associations" in parts[4:] else "{}"
            # A paged association read follows one of the associations the deal read names inline.
            targets = inline if target == "{}" else {target}
            if "{}" in targets:
                return None
            scopes |= {f"crm.objects.{t}.read" for t in targets}
        return scopes
    if family == "properties":
        return {f"crm.schemas.{obj}.{'read' if call.method == 'GET' else 'write'}"}
    if family == "associations" and len(parts) >= 5:
        return {f"crm.objects.{obj}.read", f"crm.objects.{parts[4]}.read"}
    return None


def needed_scopes(sources: Mapping[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """Scope → the calls that need it; and what could not be worked out (each a sentence naming the call)."""
    calls, unreadable, inline = connector_calls(sources)
    needed: dict[str, list[str]] = {}
    unknown = [f"{where}: a HubSpot request whose path the scope table cannot read" for where in unreadable]
    for obj in inline - {"{}"}:  # the deal read itself asks for these objects' ids inline
        needed.setdefault(f"crm.objects.{obj}.read", []).append("associations= query parameter")
    for call in calls:
        scopes = scopes_for(call, inline)
        if scopes is None:
            unknown.append(f"{call.where}: no scope known for {call.method} {call.path}")
            continue
        for scope in scopes:
            needed.setdefault(scope, []).append(f"{call.where} {call.method} {call.path}")
    return needed, unknown


def scope_problems(declared: list[str], needed: Mapping[str, list[str]]) -> list[str]:
    """The differences between an app's required scopes and what the connector's calls need."""
    required = set(needed) - OPTIONAL_SCOPES
    problems = [f"missing scope {scope} (needed by {'; '.join(needed[scope])})"
                for scope in sorted(required - set(declared))]
    problems += [f"scope {scope} is declared but no call needs it" for scope in sorted(set(declared) - required)]
    problems += [f"scope {scope} is optional (GraphQL) and a static app may only declare required ones"
                 for scope in sorted(set(declared) & OPTIONAL_SCOPES)]
    return problems


def connector_sources() -> dict[str, str]:
    return {path.name: path.read_text() for path in CONNECTOR_FILES}
