"""The win32 backend through the CLI: the plan it runs (pipe name, client
labels), and servers that create pipes under names other than the run's
endpoint.

Each test writes its own scenario into a temporary directory and runs it
under Wine with the Win32 parts of the build; without them (or without Wine)
the tests are skipped with the reason, like drivers/test_seed.py.
"""
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
