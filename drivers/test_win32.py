"""The win32 backend through the CLI: the plan it runs (pipe name, client
labels), and servers that create pipes under names other than the run's
endpoint.

Each test writes its own scenario into a temporary directory and runs it
under Wine with the Win32 parts of the build; without them (or without Wine)
the tests are skipped with the reason, like drivers/test_seed.py.
"""
import json
import os
import textwrap

import pytest

from test_seed import win32  # noqa: F401  (the module fixture: Wine and the Win32 parts)

INTENDED = "D:P(A;;GA;;;SY)(A;;GRGW;;;WD)"


def scenario(tmp_path, name, server, clients, extra=""):
    """Writes a win32 scenario; server and clients are YAML blocks."""
    def block(text):
        return textwrap.indent(textwrap.dedent(text), "  ")
    text = (f"name: {name}\nplatform: win32\n"
            f"server:\n{block(server)}"
            "endpoint:\n  kind: npipe\n  path: scripting\n"
            f"intended:\n  sddl: \"{INTENDED}\"\n"
            "accounts:\n  - name: alice\n    allowed: true\n"
            f"clients:\n{block(clients)}"
            "expect:\n  - birth_intended\n" + extra)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def test_two_client_entries_of_one_account_are_numbered_apart(win32, run_pipefault, tmp_path):
    """Labels come from the plan, as on Linux: an account's processes are
    numbered across all its `clients:` entries."""
    path = scenario(tmp_path, "labels", "fixture: sd_every\ntimeout: 30s\n",
                    "- account: alice\n  attempts: 1\n"
                    "- account: alice\n  attempts: 1\n  start: 50ms\n")
    run = run_pipefault(path)
    s = run.scenario("labels")
    assert s["verdict"] == "pass", (s["reason"], run.stderr)
    attempts = [e for e in run.trace("labels") if e["ev"] == "attempt"]
    assert sorted(a["client"] for a in attempts) == ["alice#1", "alice#2"], attempts
    # The pipe the clients used is the plan's endpoint, unique to the run.
    run_id = run.results["run"]["id"]
    births = [e for e in run.trace("labels") if e["ev"] == "instance_birth"]
    assert births and all(b["endpoint"] == f"\\\\.\\pipe\\pipefault-{run_id}-scripting"
                          for b in births), births


def test_a_server_that_creates_only_another_name_is_an_error(win32, run_pipefault, tmp_path):
    """A pipe created under a name other than the run's endpoint is listed
    as foreign, never judged; with no endpoint instance at all the scenario
    is an error naming both names, never a pass."""
    path = scenario(tmp_path, "hardcoded", "fixture: hardcoded_name\ntimeout: 30s\n"
                    "ready_timeout: 2s\n", "- account: alice\n  attempts: 1\n")
    run = run_pipefault(path)
    s = run.scenario("hardcoded")
    assert s["verdict"] == "error", (s["verdict"], s["reason"])
    assert run.rc != 0
    run_id = run.results["run"]["id"]
    reason = json.dumps(s)
    assert "\\\\\\\\.\\\\pipe\\\\scripting" in reason, reason
    assert f"pipefault-{run_id}-scripting" in reason and "{endpoint}" in reason, reason
    births = [e for e in run.trace("hardcoded") if e["ev"] == "instance_birth"]
    assert births and all(b.get("foreign") is True for b in births), births
    assert births[0]["endpoint"] == "\\\\.\\pipe\\scripting"


def test_wine_prefix_start_up_is_told_apart_and_not_in_the_duration(win32, run_pipefault,
                                                                     tmp_path):
    """Creating the Wine prefix takes seconds: the console says so on a line
    of its own, and the first scenario's duration leaves it out."""
    import time
    path = scenario(tmp_path, "first", "fixture: sd_every\ntimeout: 30s\n",
                    "- account: alice\n  attempts: 1\n")
    t0 = time.monotonic()
    run = run_pipefault(path)
    wall = time.monotonic() - t0
    lines = [line for line in run.stderr.splitlines() if "Wine prefix" in line]
    assert len(lines) == 1, run.stderr
    took = float(lines[0].split(" started in ")[1].split(" s ")[0])
    duration = run.scenario("first")["duration_ms"] / 1000.0
    # Start-up and scenario are disjoint parts of the run: counted in both,
    # they would add up to more than the whole run took.
    assert took + duration <= wall + 0.1, (took, duration, wall)
