"""The function app's wiring: every name in shared/names.py and the deal saga's table is registered with its trigger."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import function_app
from shared import names
from shared.sync import deal_saga

REPO = Path(__file__).resolve().parents[1]
AZURE_MODULES = ("azure.functions", "azure.durable_functions")
OWN_CODE = ("function_app.py", "orchestrators", "activities", "entities", "http_triggers", "timer_triggers",
            "shared", "devhost", "simulators", "bench")


@functools.cache
def function_app_functions() -> list[Any]:
    # get_functions() builds and validates the app once; a second call reports duplicates.
    return list(function_app.app.get_functions())


# Every function the app must register: the deal saga's activities come from its step table, the rest from names.
EXPECTED: dict[str, str] = {**names.REGISTERED, **dict.fromkeys(deal_saga.ACTIVITIES, "activityTrigger")}


def registered() -> dict[str, str]:
    return {f.get_function_name(): f.get_trigger().get_binding_name() for f in function_app_functions()}


def test_every_named_function_is_registered_with_its_trigger_type() -> None:
    actual = registered()
    for name, trigger in EXPECTED.items():
        assert actual.get(name) == trigger, f"{name} should be a {trigger}, registered: {actual.get(name)}"


def test_nothing_is_registered_that_names_does_not_declare() -> None:
    assert set(registered()) == set(EXPECTED)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_only_function_app_and_blueprints_import_the_azure_functions_sdks() -> None:
    offenders = []
    for top in OWN_CODE:
        base = REPO / top
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in files:
            rel = path.relative_to(REPO)
            if rel.name == "blueprint.py" or str(rel) == "function_app.py":
                continue
            if str(rel).startswith("devhost/"):
                continue  # devhost *is* a Functions host: it must load the SDKs to run the app
            bad = [m for m in _imports(path) if m.startswith(AZURE_MODULES) or m in ("azure.functions",)]
            if any(m == "azure" for m in _imports(path)):
                bad.append("azure")
            if bad:
                offenders.append(f"{rel}: {sorted(set(bad))}")
    assert offenders == []


def test_importing_the_app_reads_no_settings_and_opens_no_connection() -> None:
    probe = (
        "import socket, os\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('network I/O at import')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import function_app\n"
        "from shared.config import get_settings\n"
        "assert get_settings.cache_info().currsize == 0, 'settings were read at import'\n"
        "print('clean', len(function_app.app.get_functions()))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}  # no app settings at all
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("clean")


_WORKER_PROBE = (
    "import asyncio, json, pathlib\n"
    "from devhost.worker import Worker\n"
    "functions = asyncio.run(Worker(pathlib.Path('.')).start())\n"
    "print(json.dumps({f.name: sorted((b['type'], b['name']) for b in f.bindings) for f in functions}))\n"
)


@functools.cache
def indexed_by_the_worker() -> dict[str, list[list[str]]]:
    """What the Functions worker library (the code Azure runs for Python 3.13) indexes, in a fresh process as
    in Azure; a function it refuses fails the whole start with the worker's message."""
    done = subprocess.run([sys.executable, "-c", _WORKER_PROBE], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, list[list[str]]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_worker_library_indexes_every_function_with_its_trigger_type() -> None:
    indexed = indexed_by_the_worker()
    assert set(indexed) == set(EXPECTED)
    for name, trigger in EXPECTED.items():
        types = [binding_type for binding_type, _ in indexed[name]]
        assert trigger in types, f"{name}: the worker indexed {indexed[name]}, expected a {trigger}"


def test_the_worker_keeps_every_binding_the_app_declares() -> None:
    declared = {
        f.get_function_name(): sorted([b.get_dict_repr()["type"], b.name] for b in f.get_bindings())
        for f in function_app_functions()
    }
    assert indexed_by_the_worker() == declared


def test_http_functions_answer_through_the_http_output_and_clients_get_the_durable_client_binding() -> None:
    indexed = indexed_by_the_worker()
    for name, bindings in indexed.items():
        if EXPECTED[name] == "httpTrigger":
            assert ["http", "$return"] in bindings, name
    for name in (names.SCHEDULED_SYNC, names.PURGE_HISTORY, names.START_DEAL_SYNCS):
        assert ["durableClient", "client"] in indexed[name], name


def test_the_pinned_worker_library_is_the_one_installed() -> None:
    pinned = next(line.split("==")[1].split()[0] for line in (REPO / "requirements.txt").read_text().splitlines()
                  if line.startswith("azure-functions-runtime=="))
    assert importlib.metadata.version("azure-functions-runtime") == pinned
    assert sys.version_info[:2] == (3, 13), "Azure runs azure-functions-runtime for Python 3.13 apps"


_OUTSIDE_DOCS = ("durable-host" + "-protocol", "shared" + "/design")  # spelled in two parts so this file passes


def test_no_file_points_at_a_design_document_outside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for rel in tracked:
        path = REPO / rel
        if path.suffix not in (".py", ".md", ".json", ".yaml", ".yml", ".toml", ".bicep") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if any(marker in text for marker in _OUTSIDE_DOCS):
            offenders.append(rel)
    assert offenders == []


def test_every_protocol_section_the_code_cites_exists_in_devhost_protocol() -> None:
    import re

    doc = (REPO / "devhost" / "PROTOCOL.md").read_text()
    headings = set(re.findall(r"^#{2,4} (\d+(?:\.\d+)*)[. ]", doc, flags=re.MULTILINE))
    cited: set[str] = set()
    for rel in ("devhost", "shared", "tests/devhost", "tests/support"):
        for path in (REPO / rel).rglob("*.py"):
            cited.update(m.rstrip(".") for m in re.findall(r"§(\d+(?:\.\d+)*)", path.read_text()))
    missing = sorted(c for c in cited if c not in headings)
    assert missing == [], f"cited but not in devhost/PROTOCOL.md: {missing}"
