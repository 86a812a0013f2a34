"""Fault injection through the CLI on unmodified servers of every kind:
dynamically linked C, statically linked C, Python and Go."""
import os

import pytest

from conftest import ROOT, leftovers

SCENARIO = """\
name: {name}
server:
  fixture: {fixture}
  umask: "000"
endpoint: {{kind: unix, path: s.sock}}
intended: {{mode: "{mode}"}}
accounts:
  - {{name: alice, allowed: true}}
  - {{name: mallory, allowed: {mallory_allowed}}}
clients:
  - {{account: mallory, attempts: {attempts}, interval: 2ms, until: accepting}}
  - {{account: alice, attempts: {attempts}, interval: 2ms, until: accepting}}
faults:
{faults}
expect: [intended_before_accept, others_never_admitted]
"""

HOLD_SECURE = ("  - {at: secure, when: \"1\", action: hold, "
               "until: {account: mallory, event: admitted}, timeout: 5s}")

KINDS = ["chmod_after_listen", "chmod_after_listen_static", "py_chmod_after_listen",
         "go_chmod_after_listen"]


def fixture_built(pipefault, name):
    build = os.path.dirname(os.path.dirname(pipefault))
    return os.path.exists(os.path.join(build, "fixtures", "posix", name))


def write(tmp_path, name, fixture, faults, attempts=10, mode="0660"):
    """The clients count only attempts made while the server accepts: a slow
    start (a Python server under a sanitizer on a busy machine) must not let
    them all end before listen(), with nothing left to judge or release."""
    path = tmp_path / f"{name}.yaml"
    # `check` refuses a scenario whose intended mode lets in an account it
    # calls not allowed: with other-write, mallory is allowed.
    mallory_allowed = "true" if int(mode, 8) & 0o002 else "false"
    path.write_text(SCENARIO.format(name=name, fixture=fixture, faults=faults,
                                    attempts=attempts, mode=mode,
                                    mallory_allowed=mallory_allowed))
    return str(path)


@pytest.mark.parametrize("fixture", KINDS)
def test_hold_exposes_window_on_every_kind_of_binary(pipefault, run_pipefault, tmp_path, fixture):
    if not fixture_built(pipefault, fixture):
        pytest.fail(f"fixture {fixture} was not built")
    name = fixture.replace("_", "-")
    run = run_pipefault(write(tmp_path, name, fixture, HOLD_SECURE))
    s = run.scenario(name)
    assert s["verdict"] == "fail", (s["reason"], run.stderr)
    failed = {e["id"] for e in s["expectations"] if e["held"] is False}
    assert failed == {"intended_before_accept", "others_never_admitted"}, s["expectations"]
    events = run.trace(name)
    ops = [e["op"] for e in events if e["ev"] == "syscall"]
    assert "create" in ops and "listen" in ops and "secure" in ops, ops
    held = [e for e in events if e["ev"] == "fault" and e["decision"] == "held"]
    released = [e for e in events if e["ev"] == "fault" and e["decision"] == "released"]
    assert len(held) == 1 and len(released) == 1
    assert held[0]["op"] == "secure"
    assert s["faults"][0]["fired"] == 1
    inst = s["instances"][0]
    assert inst["birth"]["mode"] == "0777"
    assert inst["class_at_first_accept"] == "default"
    assert inst["admitted"].get("mallory", 0) >= 1
    assert leftovers(run.results["run"]["id"]) == []


def test_fail_fault_returns_the_errno(run_pipefault, tmp_path):
    faults = "  - {at: secure, action: fail, errno: EPERM}"
    run = run_pipefault(write(tmp_path, "fail-secure", "chmod_after_listen", faults))
    s = run.scenario("fail-secure")
    events = run.trace("fail-secure")
    failed = [e for e in events if e["ev"] == "fault" and e["decision"] == "failed"]
    assert failed and failed[0]["errno"] == 1
    # The fixture treats a failed chmod/chown as fatal and says why.
    assert "Operation not permitted" in s["server"]["stderr_tail"], s["server"]
    assert s["verdict"] == "error"
    # The socket was never secured: every state it had was the default one.
    assert all(h["class"] != "intended" for i in s["instances"] for h in i["history"])


def test_delay_fault_delays_the_syscall(run_pipefault, tmp_path):
    faults = "  - {at: listen, action: delay, delay: 200ms}"
    run = run_pipefault(write(tmp_path, "delay-listen", "chmod_before_listen", faults,
                              attempts=200, mode="0666"))
    events = run.trace("delay-listen")
    delayed = [e for e in events if e["ev"] == "fault" and e["decision"] == "delayed"]
    assert len(delayed) == 1 and delayed[0]["delay_ns"] == 200_000_000
    listen_seen = [e for e in events if e["ev"] == "syscall" and e["op"] == "listen"][0]
    accepting = [e for e in events if e["ev"] == "instance_accepting"][0]
    first_ok = min(e["t_end"] for e in events if e["ev"] == "attempt" and e["outcome"] == "ok")
    # Nobody got in before the delayed listen() could have run, and the
    # instance counts as accepting from when listen() really went ahead
    # (lower bounds only).
    assert first_ok >= listen_seen["t"] + 200_000_000
    assert accepting["t"] >= listen_seen["t"] + 200_000_000
    assert first_ok >= accepting["t"]


def test_same_seed_same_draws(run_pipefault, tmp_path):
    faults = ("  - {at: secure, action: delay, delay: [1ms, 50ms]}\n"
              "  - {at: listen, action: delay, delay: [1ms, 50ms], probability: 0.5}")
    path = write(tmp_path, "draws", "chmod_after_listen", faults)

    def draws(seed):
        run = run_pipefault(path, seed=seed)
        return [(e["rule"], e["decision"], e.get("delay_ns"))
                for e in run.trace("draws") if e["ev"] == "fault"]

    a, b, c = draws(11), draws(11), draws(12)
    assert a == b
    assert a != c


@pytest.mark.parametrize("selector,fires", [
    ("thread: main", True),      # the single-threaded C server's only thread
    ("thread: other", False),    # it spawns no threads
    ("process: main", True),
    ("process: child", False),   # it forks no children
])
def test_process_and_thread_selectors(run_pipefault, tmp_path, selector, fires):
    faults = "  - {at: listen, action: delay, delay: 1ms, %s}" % selector
    name = "sel-" + selector.replace(": ", "-")
    run = run_pipefault(write(tmp_path, name, "chmod_before_listen", faults))
    s = run.scenario(name)
    assert s["faults"][0]["fired"] == (1 if fires else 0), run.trace(name)


def test_client_side_faults(run_pipefault, tmp_path):
    """Faults on the harness's own clients: alice's first connect fails with
    an injected errno, and her second waits until mallory has been admitted."""
    faults = ("  - {at: connect, target: alice, when: \"1\", action: fail, errno: ECONNREFUSED}\n"
              "  - {at: connect, target: alice, when: \"2\", action: hold, "
              "until: {account: mallory, event: admitted}, timeout: 5s}")
    run = run_pipefault(write(tmp_path, "client-faults", "chmod_before_listen", faults,
                              mode="0666"))
    events = run.trace("client-faults")
    alice = [e for e in events if e["ev"] == "attempt" and e["account"] == "alice"]
    assert alice[0]["injected"] is True and alice[0]["outcome"] == "ECONNREFUSED"
    assert all(not a["injected"] for a in alice[1:])
    holds = [e for e in events if e["ev"] == "fault" and e.get("client") == "alice#1"
             and e["action"] == "hold" and e["decision"] != "skipped"]
    assert [h["decision"] for h in holds] == ["held", "released"], holds
    released = holds[1]["t"]
    mallory_ok = [e["t_end"] for e in events if e["ev"] == "attempt"
                  and e["account"] == "mallory" and e["outcome"] == "ok"]
    assert mallory_ok and min(mallory_ok) <= released
    assert alice[1]["t"] >= released
    fired = {f["rule"]: f["fired"] for f in run.scenario("client-faults")["faults"]}
    assert fired == {0: 1, 1: 1}
