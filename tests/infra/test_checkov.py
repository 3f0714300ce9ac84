"""checkov over infra/ (Bicep), offline: no failed check, every skip has a written reason.

checkov runs with ``--skip-download`` and ``BC_SKIP_MAPPING=TRUE`` so that it asks its vendor's
platform for nothing, and in a child process whose sockets refuse any address off the loopback, so
the test would fail if it tried anyway.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"

# Runs checkov with every socket connection off the loopback refused and reported on stderr.
_GUARDED_CHECKOV = r"""
import ipaddress, socket, sys, warnings

def _loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"

_connect = socket.socket.connect
def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not _loopback(host):
        sys.stderr.write(f"OUTBOUND-ATTEMPT {address!r}\n")
        raise OSError("outbound network refused by the test")
    return _connect(self, address)
socket.socket.connect = _guarded_connect

_getaddrinfo = socket.getaddrinfo
def _guarded_getaddrinfo(host, *args, **kwargs):
    if host is not None and not _loopback(str(host)):
        sys.stderr.write(f"OUTBOUND-ATTEMPT resolve {host!r}\n")
        raise socket.gaierror("name resolution refused by the test")
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _guarded_getaddrinfo

from checkov.main import Checkov
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    sys.exit(Checkov().run())
"""

CHECKOV_ARGS = ["--directory", str(INFRA), "--framework", "bicep", "--skip-download", "--output", "json"]


def _offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_"))}
    env["BC_SKIP_MAPPING"] = "TRUE"
    env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "TRUE"  # no version look-up either
    env["PYTHONWARNINGS"] = "ignore"
    return env


@pytest.fixture(scope="module")
def checkov_run() -> tuple[dict[str, Any], str]:
    assert importlib.util.find_spec("checkov"), "checkov is missing: `make bootstrap` installs requirements-dev.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _GUARDED_CHECKOV, *CHECKOV_ARGS],
        cwd=REPO, env=_offline_env(), capture_output=True, text=True, timeout=600, check=False,
    )
    # checkov exits 1 when a check fails: the report below says which, so parse before asserting.
    start = proc.stdout.find("{")
    assert start >= 0, f"checkov printed no JSON report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(proc.stdout[start:])
    if isinstance(report, list):  # several frameworks: ours is the only one asked for
        report = next(r for r in report if r.get("check_type") == "bicep")
    return report, proc.stderr


def test_checkov_made_no_outbound_call(checkov_run: tuple[dict[str, Any], str]) -> None:
    _, stderr = checkov_run
    assert "OUTBOUND-ATTEMPT" not in stderr, stderr


def test_checkov_parsed_every_bicep_file(checkov_run: tuple[dict[str, Any], str]) -> None:
    report, _ = checkov_run
    results = report["results"]
    assert results.get("parsing_errors", []) == []
    assert report["summary"]["passed"] > 0
    scanned = {c["file_path"] for kind in ("passed_checks", "failed_checks", "skipped_checks")
               for c in results[kind]}
    for module in ("storage", "keyvault", "function-app"):
        assert f"/modules/{module}.bicep" in scanned, f"checkov found no resource in {module}.bicep"


def test_checkov_has_no_failed_check(checkov_run: tuple[dict[str, Any], str]) -> None:
    report, _ = checkov_run
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
              for c in report["results"]["failed_checks"]]
    assert report["summary"]["failed"] == 0, "\n".join(failed)


def test_every_skipped_check_has_a_written_reason(checkov_run: tuple[dict[str, Any], str]) -> None:
    report, _ = checkov_run
    for check in report["results"]["skipped_checks"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= 20, f"{check['check_id']} on {check['resource']} is skipped without a reason"


def test_skip_comments_in_bicep_are_valid_bicep_comments_with_reasons() -> None:
    for path in INFRA.rglob("*.bicep"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "checkov:skip" not in line:
                continue
            # '#' is not a Bicep comment (the compiler rejects it); checkov reads '//' comments too.
            assert re.match(r"^\s*// checkov:skip=CKV2?_AZURE_\d+:\S.{19,}$", line), f"{path.name}:{number}: {line}"
