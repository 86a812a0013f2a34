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
    # kernelbase's CreateNamedPipeW calls ntdll's NtCreateNamedPipeFile,
    # which is hooked as well: still one birth per instance.
    creates = [e for e in run.trace("labels") if e["ev"] == "syscall" and e["op"] == "create"]
    assert {c["name"] for c in creates} == {"CreateNamedPipeW"}, creates
    ok = [a for a in attempts if a["outcome"] == "ok"]
    assert len(births) == len(creates) == len(ok) + 1, (births, creates, ok)


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


SEED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "scenarios", "seed")
BOTH = {"birth_intended", "no_default_instance"}


def seed_variant(tmp_path, seed, name, fixture, extra_faults=""):
    """A seed scenario (scenarios/seed/SEED.yaml) run with another fixture."""
    with open(os.path.join(SEED, seed + ".yaml")) as f:
        text = f.read()
    old_name = text.split("\n", 1)[0]
    text = text.replace(old_name, f"name: {name}", 1)
    old_fixture = next(line for line in text.splitlines() if "fixture:" in line)
    text = text.replace(old_fixture, f"  fixture: {fixture}") + extra_faults
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def creates_and_births(tr):
    creates = [e for e in tr if e["ev"] == "syscall" and e["op"] == "create"]
    births = [e for e in tr if e["ev"] == "instance_birth" and not e.get("foreign")]
    return creates, births


def served(tr):
    return [e for e in tr if e["ev"] == "attempt" and e["outcome"] == "ok"]


def test_instances_created_through_ntdll_are_judged(win32, run_pipefault, tmp_path):
    """go-winio's pattern, every instance made by NtCreateNamedPipeFile
    resolved with GetProcAddress: each instance is recorded once, the first
    with the SD it was given, and the pinned first instance keeps the name
    and its SD alive under the same ordering as winio-close-before-create."""
    path = seed_variant(tmp_path, "winio-close-before-create", "ntcreate-winio",
                        "ntcreate_listener")
    run = run_pipefault(path)
    s = run.scenario("ntcreate-winio")
    assert s["verdict"] == "pass", (s["reason"], s["expectations"], run.stderr)
    assert all(e["held"] is True for e in s["expectations"]), s["expectations"]
    tr = run.trace("ntcreate-winio")
    creates, births = creates_and_births(tr)
    assert creates and all(c["name"] == "NtCreateNamedPipeFile" for c in creates), creates
    # Once each: one birth per create, and as many as the pinned first
    # instance, one per connection served and the one waiting.
    assert len(births) == len(creates), (births, creates)
    ok = served(tr)
    assert ok and len(births) == len(ok) + 2, (len(births), len(ok))
    inst = s["instances"]
    assert inst[0]["sa_passed"] is True and inst[0]["birth_class"] == "intended", inst[0]
    assert all(i["sa_passed"] is False for i in inst[1:]), inst
    assert not [e for e in tr if e["ev"] == "hook_missing"]
    # The held create went through the ntdll hook too.
    held = [e for e in tr if e["ev"] == "fault" and e["decision"] == "held"]
    assert len(held) == 1, held


def test_npipe_pattern_through_ntdll_fails(win32, run_pipefault, tmp_path):
    """npipe's pattern with ntdll creates: NULL SD after the first and the
    first closed before the next create, so #2 is born default."""
    path = seed_variant(tmp_path, "npipe-close-before-create", "ntcreate-npipe",
                        "ntcreate_npipe")
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    s = run.scenario("ntcreate-npipe")
    assert s["verdict"] == "fail", (s["reason"], s["expectations"])
    assert {e["id"] for e in s["expectations"] if e["held"] is False} == BOTH
    inst = s["instances"]
    assert inst[0]["birth_class"] == "intended" and inst[0]["sa_passed"] is True, inst[0]
    assert inst[1]["birth_class"] == "default" and inst[1]["created_name"] is True, inst[1]
    tr = run.trace("ntcreate-npipe")
    creates, births = creates_and_births(tr)
    assert all(c["name"] == "NtCreateNamedPipeFile" for c in creates), creates
    assert len(births) == len(creates) == len(served(tr)) + 1, (births, creates)


def test_create_fail_fault_on_the_ntdll_path(win32, run_pipefault, tmp_path):
    """A `fail` rule on a create made through ntdll returns the NTSTATUS of
    the rule's Win32 error to the server (ERROR_ACCESS_DENIED ->
    STATUS_ACCESS_DENIED), which the fixture prints before it exits."""
    fault = ("  - at: create\n    phase: before\n    action: fail\n"
             "    errno: ERROR_ACCESS_DENIED\n    when: \"2\"\n")
    path = seed_variant(tmp_path, "npipe-close-before-create", "ntcreate-fail",
                        "ntcreate_npipe", fault)
    run = run_pipefault(path)
    tr = run.trace("ntcreate-fail")
    failed = [e for e in tr if e["ev"] == "fault" and e["decision"] == "failed"]
    assert len(failed) == 1 and failed[0]["errno"] == 5, failed
    creates, births = creates_and_births(tr)
    assert len(creates) == 2 and len(births) == 1, (creates, births)
    tail = run.scenario("ntcreate-fail")["server"]["stderr_tail"]
    assert "NtCreateNamedPipeFile: status 0xc0000022" in tail, tail


def assert_each_connection_credited(tr, births):
    """Every admitted attempt names the instance that served it, one
    connection per instance at most."""
    ok = served(tr)
    assert ok, tr
    assert all(a.get("instance") is not None for a in ok), ok
    born = {b["id"] for b in births}
    per_instance = {}
    for a in ok:
        assert a["instance"] in born, a
        per_instance[a["instance"]] = per_instance.get(a["instance"], 0) + 1
    assert all(n == 1 for n in per_instance.values()), per_instance
    return per_instance


def test_connections_completed_through_a_completion_port_are_credited(win32, run_pipefault,
                                                                      tmp_path):
    """An IOCP server with two accepts pending at once: the connect's
    completion reaches the server through GetQueuedCompletionStatus(Ex),
    and each admitted attempt is credited to the instance it completed on,
    which is not always the newest."""
    path = scenario(tmp_path, "iocp", "fixture: iocp_listener\ntimeout: 30s\n",
                    "- account: alice\n  attempts: 6\n  interval: 20ms\n")
    run = run_pipefault(path)
    s = run.scenario("iocp")
    assert s["verdict"] == "pass", (s["reason"], run.stderr)
    tr = run.trace("iocp")
    _, births = creates_and_births(tr)
    per_instance = assert_each_connection_credited(tr, births)
    assert len(per_instance) == 6, per_instance
    # Two instances wait at any time: those served are all but the last two.
    assert len(births) == 6 + 2, births
    assert sorted(per_instance) == sorted(b["id"] for b in births)[:6], per_instance
