"""The GitHub workflow runs what .ci/run runs (plus an offline checkov job); azure.yaml names the service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name} is not a YAML mapping"
    return data


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in _steps(job))


def _uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    found = [s for s in _steps(job) if str(s.get("uses", "")).startswith(action + "@")]
    assert found, f"no {action} step"
    return dict(found[0].get("with", {}))


def test_workflow_is_valid_yaml_with_triggers() -> None:
    workflow = _load(REPO / ".github/workflows/ci.yml")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert triggers and "pull_request" in triggers and "push" in triggers
    assert {"test", "checkov"} <= workflow["jobs"].keys()


def test_workflow_runs_the_same_steps_as_ci_run() -> None:
    job = _load(REPO / ".github/workflows/ci.yml")["jobs"]["test"]
    assert job["runs-on"].startswith("ubuntu")
    assert re.search(r"(^|\s)bash \.ci/run\b", _runs(job)), "the test job must run .ci/run"
    assert str(_uses(job, "actions/setup-python")["python-version"]) == "3.13"
    assert str(_uses(job, "actions/setup-node")["node-version"]) == "20"
    _uses(job, "actions/checkout")
    # .ci/run itself ends in the README's test command.
    assert (REPO / ".ci/run").read_text().rstrip().endswith("make test")


def test_checkov_job_is_offline_and_uses_the_pinned_version() -> None:
    job = _load(REPO / ".github/workflows/ci.yml")["jobs"]["checkov"]
    runs = _runs(job)
    assert "requirements-dev.txt" in runs and "checkov==" in runs
    scan = next(s for s in _steps(job) if "checkov --" in str(s.get("run", "")))
    command = str(scan["run"])
    for flag in ("--skip-download", "--framework bicep", "--directory infra"):
        assert flag in command
    assert str(scan.get("env", {}).get("BC_SKIP_MAPPING", "")).upper() == "TRUE"
    pins = (REPO / "requirements-dev.txt").read_text()
    assert re.search(r"^checkov==\d+\.\d+\.\d+$", pins, re.MULTILINE)


def test_azure_yaml_names_the_function_service() -> None:
    azd = _load(REPO / "azure.yaml")
    assert azd["infra"]["provider"] == "bicep" and azd["infra"]["path"] == "infra"
    assert (REPO / azd["infra"]["path"] / f"{azd['infra'].get('module', 'main')}.bicep").is_file()
    api = azd["services"]["api"]
    assert api == {"project": ".", "language": "python", "host": "function"}
    # azd finds the app by this tag.
    assert "'azd-service-name': 'api'" in (REPO / "infra/modules/function-app.bicep").read_text()


def test_bicepparam_uses_main_bicep_and_sets_every_required_parameter() -> None:
    main = (REPO / "infra/main.bicep").read_text()
    params = (REPO / "infra/main.bicepparam").read_text()
    assert re.search(r"^using '\./main\.bicep'$", params, re.MULTILINE)
    required = re.findall(r"^param (\w+) \w+$", main, re.MULTILINE)  # no default value
    assert required
    given = set(re.findall(r"^param (\w+) =", params, re.MULTILINE))
    assert set(required) <= given, f"main.bicepparam misses {set(required) - given}"
    declared = set(re.findall(r"^param (\w+) ", main, re.MULTILINE))
    assert given <= declared, f"main.bicepparam sets unknown parameters {given - declared}"
