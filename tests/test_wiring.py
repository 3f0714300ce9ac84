"""The function app's wiring: every name in shared/names.py is registered with the trigger it promises."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import function_app
from shared import names

REPO = Path(__file__).resolve().parents[1]
AZURE_MODULES = ("azure.functions", "azure.durable_functions")
OWN_CODE = ("function_app.py", "orchestrators", "activities", "entities", "http_triggers", "timer_triggers",
            "shared", "devhost", "simulators", "bench")


@functools.cache
def registered() -> dict[str, str]:
    # get_functions() builds and validates the app once; a second call reports duplicates.
    return {f.get_function_name(): f.get_trigger().get_binding_name() for f in function_app.app.get_functions()}


def test_every_named_function_is_registered_with_its_trigger_type() -> None:
    actual = registered()
    for name, trigger in names.REGISTERED.items():
        assert actual.get(name) == trigger, f"{name} should be a {trigger}, registered: {actual.get(name)}"


def test_nothing_is_registered_that_names_does_not_declare() -> None:
    assert set(registered()) == set(names.REGISTERED)


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
