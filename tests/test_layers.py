"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, and break when code imports across them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "orchestrators", "activities", "entities", "http_triggers", "timer_triggers")
# import-linter's own command line; -c puts the working directory first on sys.path, so the packages of the
# tree it runs in are the ones analysed.
LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
        "--no-cache", "--no-logo"]


def lint(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """lint-imports over ``tree``, limited to the contracts of these ids if any are given."""
    env = {"PATH": "/usr/bin:/bin"}  # no PYTHONPATH: only the packages of ``tree`` are found
    limit = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run([*LINT, *limit], cwd=tree, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_code_keeps_every_layer_contract() -> None:
    done = lint(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    """The app's packages and their contracts in a temporary tree, to be changed by a test."""
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


# (file, the import added to it, the id of the contract that must break)
BREACHES = [
    pytest.param("timer_triggers/blueprint.py", "from http_triggers.blueprint import bp as _other",
                 "blueprints-independent", id="a-blueprint-imports-another"),
    pytest.param("activities/blueprint.py", "import orchestrators.blueprint",
                 "blueprints-independent", id="a-blueprint-imports-the-orchestrators-blueprint"),
    pytest.param("shared/sync/identity.py", "from shared.application import ports",
                 "layers", id="the-sync-imports-the-application"),
    pytest.param("shared/application/ports.py", "from shared.api import responses",
                 "layers", id="the-application-imports-the-http-handlers"),
    pytest.param("orchestrators/blueprint.py", "from shared import composition",
                 "layers", id="the-orchestrators-blueprint-imports-the-composition-root"),
    pytest.param("shared/ledger/layout.py", "from shared.sync import identity",
                 "adapters", id="an-adapter-imports-the-sync"),
    pytest.param("shared/adapters/durable_client.py", "from shared.application import scheduled",
                 "durable-adapter", id="the-durable-adapter-imports-a-use-case"),
    pytest.param("shared/application/starting.py", "from shared.application import deal_sync_starts",
                 "acyclic", id="two-application-modules-import-each-other"),
]


@pytest.mark.parametrize(("path", "line", "contract"), BREACHES)
def test_an_import_across_the_rules_breaks_its_contract(copy_of_the_code: Path, path: str, line: str,
                                                         contract: str) -> None:
    assert lint(copy_of_the_code, contract).returncode == 0, "the copy keeps the contract before the change"
    target = copy_of_the_code / path
    target.write_text(target.read_text() + f"\n{line}\n")
    done = lint(copy_of_the_code, contract)
    assert done.returncode != 0, done.stdout
    assert "0 kept, 1 broken" in done.stdout, done.stdout + done.stderr
