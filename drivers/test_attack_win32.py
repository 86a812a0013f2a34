"""Attackers on win32, under Wine: squatter.exe takes the pipe name before the
server, in a gap the agent holds open, or after the server started serving;
first_server.exe starts the server's own command first (run-server); and the
expectations judge it.

The buggy server (squattable: no FILE_FLAG_FIRST_PIPE_INSTANCE, closes
before it creates) must fail for the right reasons every run: a client
served by attacker:mallory, the server's instance made on a name mallory
held. The correct one (heirloom: the flag, and never lets the name go) must
be inconclusive on Wine, with the reason: Wine does not enforce the flag,
or mallory could only join the server's pipe. Also checked: the squatter's
own records (client pid, impersonation), served_by from
GetNamedPipeServerProcessId, check's refusals, and that no squatter or Wine
process of the run is left.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import ROOT
from test_seed import win32, wine_leftovers, wineserver_dirs  # noqa: F401 (fixture)

SUITE = os.path.join(ROOT, "scenarios", "attack-seed")


def scenario(name):
    return os.path.join(SUITE, name + ".yaml")


def attacker_events(run, name, ev):
    return [e for e in run.trace(name) if e.get("src") == "attacker" and e["ev"] == ev]


def attempts(run, name):
    return [e for e in run.trace(name) if e["ev"] == "attempt"]


def platform(run, name):
    return next(e for e in run.trace(name) if e["ev"] == "platform")


@pytest.fixture(scope="module")
def suite_run(pipefault, win32, tmp_path_factory):  # noqa: F811
    """One run of the suite, shared by the tests that only read it."""
    from conftest import Run
    out = str(tmp_path_factory.mktemp("attack-seed") / "out")
    before = wineserver_dirs()
    proc = subprocess.run([pipefault, "run", "--out", out, "--seed", "1", SUITE],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    r = Run(proc, out)
    r.leftovers = wine_leftovers(before)
    return r


def assert_squattable_fails(run, name):
    s = run.scenario(name)
    assert s["verdict"] == "fail", (s["reason"], s["expectations"])
    reach = run.expectation(name, "clients_reach_server_only")
    assert reach["held"] is False, reach
    assert "attacker:mallory" in reach["reason"], reach
    owns = run.expectation(name, "server_owns_endpoint")
    assert owns["held"] is False and "held by attacker:mallory" in owns["reason"], owns
    refuses = run.expectation(name, "server_refuses_squatted_name")
    assert refuses["held"] is False, refuses
    assert "mallory held the name" in refuses["reason"], refuses


def test_squattable_before_server_fails(suite_run):
    name = "attack-squattable-before-server"
    assert_squattable_fails(suite_run, name)
    squat = attacker_events(suite_run, name, "squat")
    assert len(squat) == 1 and squat[0]["outcome"] == "ok", squat
    assert squat[0]["created_name"] is True, squat
    # The server's first instance joined mallory's pipe, never asking to be first.
    births = [e for e in suite_run.trace(name) if e["ev"] == "instance_birth"]
    assert births and births[0]["first_pipe_instance"] is False, births[0]
    assert births[0]["created_name"] is False, births[0]


def test_squattable_in_gap_fails(suite_run):
    name = "attack-squattable-in-gap"
    assert_squattable_fails(suite_run, name)
    trace = suite_run.trace(name)
    # The gap was made by the hold on the server's first close, released by the squat.
    held = [e for e in trace if e["ev"] == "fault" and e.get("decision") == "held"]
    assert held and held[0]["op"] == "close" and held[0]["until_event"] == "squatted", held
    released = [e for e in trace if e["ev"] == "fault" and e.get("decision") == "released"]
    assert released, "the hold was not released by the squat"
    squat = attacker_events(suite_run, name, "squat")[0]
    assert squat["created_name"] is True and squat["when"] == "in-gap", squat
    assert held[0]["t"] <= squat["t"] <= released[0]["t"], (held[0], squat, released[0])


def test_squatter_records_clients_and_impersonation(suite_run):
    name = "attack-squattable-before-server"
    conns = attacker_events(suite_run, name, "squatter_connection")
    assert conns, "the squatter recorded no connection"
    client_pids = {e["pid"] for e in attempts(suite_run, name)}
    for c in conns:
        assert c["peer_pid"] in client_pids, (c, client_pids)
        assert c["peer_account"] == "alice", c
        assert isinstance(c["impersonated"], bool), c
        if c["impersonated"]:
            assert c["impersonation_level"] in {"anonymous", "identification", "impersonation",
                                                "delegation"}, c
        else:
            assert c["impersonation_error"] != 0, c


def test_served_by_is_evidence(suite_run):
    """served_by names the process GetNamedPipeServerProcessId gave: mallory's
    squatter or the server's process (agent hello), and refused attempts none."""
    for name in ("attack-squattable-before-server", "attack-squattable-in-gap"):
        trace = suite_run.trace(name)
        squatter = attacker_events(suite_run, name, "squat")[0]
        conns = attacker_events(suite_run, name, "squatter_connection")
        server_pid = next(e["pid"] for e in trace if e["ev"] == "instance_birth")
        by = {}
        for a in attempts(suite_run, name):
            if a["outcome"] != "ok":
                assert a["served_by"] is None, a
                continue
            assert a["peer_pid"], a
            by[a["pid"], a["t"]] = a["served_by"]
            if a["served_by"] == "attacker:mallory":
                assert a["peer_pid"] == squatter["win_pid"], (a, squatter)
                assert a["reply_head"].startswith("squatted"), a
            else:
                assert a["served_by"] == "server", a
                assert a["peer_pid"] == server_pid, (a, server_pid)
                assert a.get("reply_head", "").startswith("ok"), a
        assert list(by.values()).count("attacker:mallory") == len(conns), (by, conns)


def test_heirloom_inconclusive_on_wine(suite_run):
    name = "attack-heirloom-before-server"
    s = suite_run.scenario(name)
    if platform(suite_run, name)["first_pipe_instance_enforced"]:
        pytest.skip("this platform enforces FILE_FLAG_FIRST_PIPE_INSTANCE")
    assert s["verdict"] == "inconclusive", (s["reason"], s["expectations"])
    e = suite_run.expectation(name, "server_refuses_squatted_name")
    assert e["held"] is None, e
    assert e["status"] == "vacuous", e
    assert "FILE_FLAG_FIRST_PIPE_INSTANCE" in e["reason"] and "does not enforce" in e["reason"], e
    assert "does not enforce" in s["reason"], s["reason"]
    births = [b for b in suite_run.trace(name) if b["ev"] == "instance_birth"]
    assert births[0]["first_pipe_instance"] is True, births[0]


def test_heirloom_in_gap_only_joins(suite_run):
    name = "attack-heirloom-in-gap"
    s = suite_run.scenario(name)
    assert s["verdict"] == "inconclusive", (s["reason"], s["expectations"])
    squat = attacker_events(suite_run, name, "squat")[0]
    assert squat["outcome"] == "ok" and squat["created_name"] is False, squat
    e = suite_run.expectation(name, "server_refuses_squatted_name")
    assert e["held"] is None, e
    assert e["status"] == "vacuous" and "only joined" in e["reason"], e


def test_every_squatter_ended_and_nothing_left(suite_run):
    for s in suite_run.results["scenarios"]:
        trace = suite_run.trace(s["name"])
        starts = [e for e in trace if e["ev"] == "attacker_start"]
        exits = [e for e in trace if e["ev"] == "attacker_exit"]
        assert len(starts) == 1 and len(exits) == 1, (s["name"], starts, exits)
        assert exits[0]["stopped_by_harness"] is True, exits[0]
        assert exits[0]["status"] == 0, exits[0]   # ended by its stdin, not killed
        assert not os.path.exists(f"/proc/{starts[0]['pid']}"), starts[0]
    assert suite_run.leftovers == [], suite_run.leftovers


def test_interrupt_ends_the_squatter(pipefault, win32, tmp_path):  # noqa: F811
    """Ctrl-C while mallory's squatter serves: exit 3, the squatter ended and
    traced, nothing of Wine left."""
    out = str(tmp_path / "out")
    before = wineserver_dirs()
    name = "attack-squattable-before-server"
    proc = subprocess.Popen([pipefault, "run", "--out", out, scenario("squattable-before-server")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    trace = os.path.join(out, name, "trace.jsonl")
    deadline = time.time() + 180
    while time.time() < deadline:   # polling a file another process writes
        if os.path.exists(trace) and '"ev":"squat"' in open(trace).read():
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the squatter never squatted")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 3
    events = [json.loads(line) for line in open(trace) if line.strip()]
    start = next(e for e in events if e["ev"] == "attacker_start")
    assert any(e["ev"] == "attacker_exit" for e in events), events[-3:]
    assert not os.path.exists(f"/proc/{start['pid']}"), start
    assert wine_leftovers(before) == []


def run_server_copy(run, name):
    """The run-server attacker's squat: made, with the copy's Windows pid."""
    squat = attacker_events(run, name, "squat")
    assert len(squat) == 1 and squat[0]["action"] == "run-server", squat
    assert squat[0]["outcome"] == "ok" and squat[0]["win_pid"], squat
    return squat[0]


def test_run_server_squattable_fails(suite_run):
    """The real server joins the name bob's copy holds; a client reaches the
    copy, named by the pid GetNamedPipeServerProcessId gave it."""
    name = "attack-squattable-run-server"
    s = suite_run.scenario(name)
    assert s["verdict"] == "fail", (s["reason"], s["expectations"])
    copy = run_server_copy(suite_run, name)
    trace = suite_run.trace(name)
    server_pid = next(e["pid"] for e in trace if e["ev"] == "instance_birth")
    assert server_pid != copy["win_pid"]
    served = [a for a in attempts(suite_run, name) if a["outcome"] == "ok"]
    by_copy = [a for a in served if a["served_by"] == "attacker:bob"]
    assert by_copy, served
    for a in served:
        assert a["peer_pid"] == (copy["win_pid"] if a["served_by"] == "attacker:bob"
                                 else server_pid), (a, copy)
    reach = suite_run.expectation(name, "clients_reach_server_only")
    assert reach["held"] is False and "served by attacker:bob" in reach["reason"], reach
    refuses = suite_run.expectation(name, "server_refuses_squatted_name")
    assert refuses["held"] is False and "bob held the name" in refuses["reason"], refuses


def test_run_server_heirloom_inconclusive_on_wine(suite_run):
    name = "attack-heirloom-run-server"
    if platform(suite_run, name)["first_pipe_instance_enforced"]:
        pytest.skip("this platform enforces FILE_FLAG_FIRST_PIPE_INSTANCE")
    s = suite_run.scenario(name)
    assert s["verdict"] == "inconclusive", (s["reason"], s["expectations"])
    run_server_copy(suite_run, name)
    e = suite_run.expectation(name, "server_refuses_squatted_name")
    assert e["held"] is None and e["status"] == "vacuous", e
    assert "name bob held" in e["reason"] and "does not enforce" in e["reason"], e


def test_run_server_exit_on_taken_name_is_judged(suite_run):
    """single_instance's create fails on the name the copy holds and it exits:
    not an error - the clients ran, every one served by the copy."""
    name = "attack-single-instance-run-server"
    s = suite_run.scenario(name)
    assert s["verdict"] == "fail", (s["reason"], s["expectations"])
    copy = run_server_copy(suite_run, name)
    trace = suite_run.trace(name)
    assert not [e for e in trace if e["ev"] == "instance_birth"], "the real server made one"
    exit_ = next(e for e in trace if e["ev"] == "server_exit")
    assert exit_["expected"] is False and exit_["status"] == 1, exit_
    served = [a for a in attempts(suite_run, name) if a["outcome"] == "ok"]
    assert len(served) == 3, served
    assert all(a["served_by"] == "attacker:bob" and a["peer_pid"] == copy["win_pid"]
               for a in served), served
    refuses = suite_run.expectation(name, "server_refuses_squatted_name")
    assert refuses["held"] is True, refuses
    reach = suite_run.expectation(name, "clients_reach_server_only")
    assert reach["held"] is False and "served by attacker:bob" in reach["reason"], reach


def test_after_start_squat_waits_for_serving(suite_run):
    """The squatter starts only after the server's first accept (the agent's
    instance_accepting), joins its pipe, and the clients start after the squat."""
    name = "attack-squattable-after-start"
    s = suite_run.scenario(name)
    assert s["verdict"] == "fail", (s["reason"], s["expectations"])
    trace = suite_run.trace(name)
    accepting = next(e for e in trace if e["ev"] == "instance_accepting")
    start = attacker_events(suite_run, name, "attacker_start")[0]
    squat = attacker_events(suite_run, name, "squat")[0]
    assert accepting["t"] + 50_000_000 <= start["t"], (accepting, start)
    assert squat["outcome"] == "ok" and squat["created_name"] is False, squat
    first = min(a["t"] for a in attempts(suite_run, name))
    assert squat["t"] <= first, (squat, first)
    reach = suite_run.expectation(name, "clients_reach_server_only")
    assert reach["held"] is False and "attacker:mallory" in reach["reason"], reach


def test_check_accepts_run_server_and_after_start(pipefault, tmp_path):
    for name in ("squattable-run-server", "heirloom-run-server", "single-instance-run-server",
                 "squattable-after-start", "squattable-before-server-trusting-client",
                 "squattable-after-start-verifying-client"):
        proc = subprocess.run([pipefault, "check", scenario(name)], capture_output=True,
                              text=True, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr


def test_stable_verdicts(pipefault, win32, tmp_path):  # noqa: F811
    """Two more seeds: the same verdict for every scenario (the driver's
    share of the stability measurement; tools/soak.sh-style loops run more)."""
    from conftest import Run
    verdicts = []
    for seed in (2, 3):
        out = str(tmp_path / f"out{seed}")
        proc = subprocess.run([pipefault, "run", "--out", out, "--seed", str(seed), SUITE],
                              capture_output=True, text=True, timeout=900, cwd=ROOT)
        r = Run(proc, out)
        verdicts.append({s["name"]: s["verdict"] for s in r.results["scenarios"]})
    expected = {"attack-squattable-before-server": "fail", "attack-squattable-in-gap": "fail",
                "attack-heirloom-before-server": "inconclusive",
                "attack-heirloom-in-gap": "inconclusive",
                "attack-squattable-run-server": "fail",
                "attack-heirloom-run-server": "inconclusive",
                "attack-single-instance-run-server": "fail",
                "attack-squattable-after-start": "fail",
                "attack-squattable-before-server-trusting-client": "fail",
                "attack-squattable-after-start-verifying-client": "pass"}
    assert verdicts == [expected, expected], verdicts


# ---- command clients (clients[].command): the user's client program ----

TRUSTING = "attack-squattable-before-server-trusting-client"
VERIFYING = "attack-squattable-after-start-verifying-client"


def test_command_client_pid_and_exit_from_its_launcher(suite_run):
    for name, n in ((TRUSTING, 1), (VERIFYING, 2)):
        trace = suite_run.trace(name)
        starts = [e for e in trace if e["ev"] == "client_start"]
        exits = [e for e in trace if e["ev"] == "client_exit"]
        assert len(starts) == len(exits) == n, (name, starts, exits)
        assert {e["pid"] for e in starts} == {e["pid"] for e in exits}
        for e in starts:   # the program's Windows pid, not its launcher's
            assert e["account"] == "alice" and e["pid"] > 0 and e["launcher_pid"] != e["pid"]
        assert not attempts(suite_run, name)   # not the harness's client


def test_trusting_command_client_fails_for_the_bytes_it_sent(suite_run):
    assert suite_run.scenario(TRUSTING)["verdict"] == "fail"
    exit_ = next(e for e in suite_run.trace(TRUSTING) if e["ev"] == "client_exit")
    assert exit_["status"] == 0
    conns = attacker_events(suite_run, TRUSTING, "squatter_connection")
    assert [(c["peer_pid"], c["bytes_received"]) for c in conns] == [(exit_["pid"], 17)]
    e = suite_run.expectation(TRUSTING, "clients_reach_server_only")
    assert e["status"] == "failed"
    assert (f"alice's client command alice#1 (pid {exit_['pid']}) sent 17 bytes to "
            "attacker:mallory") == e["reason"], e
    with open(os.path.join(suite_run.outdir, TRUSTING, "client-alice-1.stdout")) as f:
        assert f.read() == "reply: squatted\n"


def test_verifying_command_client_passes_after_start(suite_run):
    """Whichever instance each client reaches, it never sends to mallory:
    served by the server (exit 0, no squatter record) or refused (exit 2, a
    squatter record with 0 bytes)."""
    assert suite_run.scenario(VERIFYING)["verdict"] == "pass"
    trace = suite_run.trace(VERIFYING)
    conns = {c["peer_pid"]: c for c in attacker_events(suite_run, VERIFYING,
                                                       "squatter_connection")}
    for x in (e for e in trace if e["ev"] == "client_exit"):
        if x["pid"] in conns:
            assert x["status"] == 2 and conns[x["pid"]]["bytes_received"] == 0, x
        else:
            assert x["status"] == 0, x
    assert suite_run.expectation(VERIFYING, "clients_reach_server_only")["status"] == "held"

