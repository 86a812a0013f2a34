"""Attackers, run through the CLI: each attack (squat before-server, in-gap,
after-start; run-server) and each expectation about them, on unix, abstract
and FIFO endpoints; who served every attempt; `check` refusals; and the
attackers and everything they started gone after every run."""
import os
import subprocess

import pytest

from conftest import ROOT, Run, leftovers, process_groups
from test_report import browser  # noqa: F401 (the fixture)

SUITE = os.path.join(ROOT, "scenarios", "attack-posix")

# scenario -> the expectations that must fail (exactly these); empty: must pass
EXPECTED_FAILURES = {
    "attack-unlink-rebind-in-gap": {"clients_reach_server_only", "server_owns_endpoint"},
    "attack-private-dir-in-gap": set(),
    "attack-unlink-rebind-before-server": {"server_refuses_squatted_name"},
    "attack-private-dir-before-server": set(),
    # command clients (drivers/test_command_client.py looks closer)
    "attack-unlink-rebind-trusting-client": {"clients_reach_server_only"},
    "attack-unlink-rebind-verifying-client": set(),
    "attack-private-dir-verifying-client": set(),
}

HEAD = """accounts: [{name: alice, allowed: true}, {name: mallory}]
clients: [{account: alice, attempts: ATTEMPTS, interval: INTERVAL}]
"""

# name -> scenario text (name: is added)
SCENARIOS = {
    "abstract-squat": """server: {fixture: abstract}
endpoint: {kind: abstract, path: app}
attackers: [{account: mallory, action: squat}]
expect: [clients_reach_server_only, server_owns_endpoint, server_refuses_squatted_name]
""",
    "fifo-squat": """server: {fixture: fifo_chmod}
endpoint: {kind: fifo, path: app.fifo, dir_mode: "1777"}
attackers: [{account: mallory, action: squat}]
expect: [clients_reach_server_only, server_owns_endpoint, server_refuses_squatted_name]
""",
    "run-server": """server: {fixture: unlink_rebind, args: ["--mode", "0666"]}
endpoint: {kind: unix, path: app.sock, dir_mode: "1777"}
attackers: [{account: mallory, action: run-server}]
expect: [clients_reach_server_only, server_owns_endpoint, server_refuses_squatted_name]
""",
    "after-start": """server: {fixture: unlink_rebind, args: ["--mode", "0666"]}
endpoint: {kind: unix, path: app.sock, dir_mode: "1777"}
attackers: [{account: mallory, action: squat, when: {after-start: 50ms}}]
expect: [clients_reach_server_only, server_owns_endpoint]
""",
    "gap-never-opens": """server: {fixture: chmod_before_listen}
endpoint: {kind: unix, path: app.sock, dir_mode: "1777"}
attackers: [{account: mallory, action: squat, when: in-gap}]
expect: [clients_reach_server_only]
""",
}


def failing(run, name):
    return {e["id"] for e in run.scenario(name)["expectations"] if e["status"] == "failed"}


def status(run, name, exp):
    return run.expectation(name, exp)["status"]


def events(run, name, ev):
    return [e for e in run.trace(name) if e["ev"] == ev]


def attacker_processes_left(run):
    """Attacker processes (or members of their process groups) still alive."""
    left = []
    for s in run.results["scenarios"]:
        trace = run.trace(s["name"])
        uids = {e["uid"] for e in trace if e["ev"] == "account"}
        for start in (e for e in trace if e["ev"] == "attacker_start"):
            pid = start["pid"]
            left += [(s["name"], str(p), uid) for p, pgid, uid in process_groups()
                     if (p == pid or pgid == pid) and uid in uids]
    return left


def run_cli(pipefault, out, *paths, seed=7):
    proc = subprocess.run([pipefault, "run", "--out", out, "--seed", str(seed), *paths],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    return Run(proc, out)


@pytest.fixture(scope="module")
def suite_run(pipefault, tmp_path_factory):
    return run_cli(pipefault, str(tmp_path_factory.mktemp("attack") / "out"), SUITE)


@pytest.fixture(scope="module")
def kinds_run(pipefault, tmp_path_factory):
    d = tmp_path_factory.mktemp("attack-kinds")
    for name, text in SCENARIOS.items():
        attempts, interval = ("60", "5ms") if name == "after-start" else ("5", "2ms")
        head = HEAD.replace("ATTEMPTS", attempts).replace("INTERVAL", interval)
        (d / f"{name}.yaml").write_text(f"name: {name}\n{head}{text}")
    return run_cli(pipefault, str(d / "out"), str(d))


def assert_suite(run):
    assert run.rc == 1, run.stderr
    assert {s["name"] for s in run.results["scenarios"]} == set(EXPECTED_FAILURES)
    for name, want in EXPECTED_FAILURES.items():
        s = run.scenario(name)
        assert s["verdict"] == ("fail" if want else "pass"), (name, s["reason"])
        assert failing(run, name) == want, (name, s["expectations"])
        for e in s["expectations"]:
            assert e["status"] in ("held", "failed"), (name, e)


def test_suite_buggy_fail_correct_pass(suite_run):
    assert_suite(suite_run)


def test_suite_verdicts_are_stable(pipefault, tmp_path):
    for seed in (1, 2, 3):
        run = run_cli(pipefault, str(tmp_path / f"out{seed}"), SUITE, seed=seed)
        assert_suite(run)
        assert leftovers(run.results["run"]["id"]) == []
        assert attacker_processes_left(run) == []


def test_in_gap_squat_is_placed_by_the_servers_held_unlink(suite_run):
    for name, outcome in (("attack-unlink-rebind-in-gap", "ok"),
                          ("attack-private-dir-in-gap", "EACCES")):
        trace = suite_run.trace(name)
        order = [(e["ev"], e.get("decision") or e.get("outcome")) for e in trace
                 if (e["ev"] == "fault" and e.get("rule") == 0 and e["decision"] != "skipped")
                 or e["ev"] == "squat"]
        assert order == [("fault", "armed"), ("fault", "held"), ("squat", outcome),
                         ("fault", "released")], (name, order)
        held = next(e for e in trace if e["ev"] == "fault" and e.get("decision") == "held")
        assert held["op"] == "unlink" and held["name"] == "bind"   # after unlink, before bind
        released = next(e for e in trace if e.get("decision") == "released")
        assert released["reason"] == "mallory:squatted"
        fault = suite_run.scenario(name)["faults"][0]
        assert fault["required"] and fault["fired"] == 1


def test_buggy_in_gap_server_exits_and_is_judged_not_error(suite_run):
    s = suite_run.scenario("attack-unlink-rebind-in-gap")
    assert s["verdict"] == "fail"
    exit_ev = events(suite_run, s["name"], "server_exit")[0]
    assert exit_ev["status"] == 1
    with open(os.path.join(suite_run.outdir, s["name"], "server.stderr")) as f:
        assert "Address already in use" in f.read()
    reason = suite_run.expectation(s["name"], "clients_reach_server_only")["reason"]
    assert "served by attacker:mallory" in reason
    reason = suite_run.expectation(s["name"], "server_owns_endpoint")["reason"]
    assert "mallory" in reason


def test_served_by_on_every_attempt_from_peer_credentials(suite_run):
    for name, want in (("attack-unlink-rebind-in-gap", "attacker:mallory"),
                       ("attack-private-dir-in-gap", "server")):
        trace = suite_run.trace(name)
        attempts = [e for e in trace if e["ev"] == "attempt"]
        assert attempts
        for a in attempts:
            assert "served_by" in a, a
            if a["outcome"] == "ok":
                assert a["served_by"] == want, a
                assert a["peer_pid"] > 0
            else:
                assert a["served_by"] is None, a
        server_pid = events(suite_run, name, "server_start")[0]["pid"]
        squatter_pid = events(suite_run, name, "attacker_start")[0]["pid"]
        for a in attempts:
            if a["outcome"] == "ok":
                assert a["peer_pid"] == (squatter_pid if want != "server" else server_pid)


def test_squatter_records_each_connection_with_client_pid_and_account(suite_run):
    name = "attack-unlink-rebind-in-gap"
    trace = suite_run.trace(name)
    served = [a for a in trace if a["ev"] == "attempt" and a["served_by"] == "attacker:mallory"]
    conns = [e for e in trace if e["ev"] == "squatter_connection"]
    assert len(conns) == len(served) > 0
    alice = next(e for e in trace if e["ev"] == "account" and e["name"] == "alice")
    for c in conns:
        assert c["peer_account"] == "alice" and c["peer_uid"] == alice["uid"]
        assert c["peer_pid"] in {a["pid"] for a in served}


def test_squatter_runs_as_the_attacker_and_is_gone_after_the_run(suite_run):
    for s in suite_run.results["scenarios"]:
        exits = events(suite_run, s["name"], "attacker_exit")
        assert len(exits) == len(events(suite_run, s["name"], "attacker_start")) == 1
    mallory = next(e for e in suite_run.trace("attack-unlink-rebind-in-gap")
                   if e["ev"] == "account" and e["name"] == "mallory")
    conn = events(suite_run, "attack-unlink-rebind-in-gap", "squatter_connection")[0]
    assert conn["peer_uid"] != mallory["uid"]
    assert leftovers(suite_run.results["run"]["id"]) == []
    assert attacker_processes_left(suite_run) == []


def test_before_server_refused_by_the_correct_server(suite_run):
    name = "attack-private-dir-before-server"
    exit_ev = events(suite_run, name, "server_exit")[0]
    assert exit_ev["status"] == 1
    squat = events(suite_run, name, "squat")[0]
    assert squat["outcome"] == "ok" and squat["when"] == "before-server"
    # the clients then reach mallory: said so on every admitted attempt
    served = {a["served_by"] for a in events(suite_run, name, "attempt") if a["outcome"] == "ok"}
    assert served == {"attacker:mallory"}


def test_before_server_taken_over_by_the_buggy_server(suite_run):
    reason = suite_run.expectation("attack-unlink-rebind-before-server",
                                   "server_refuses_squatted_name")["reason"]
    assert "removed or replaced a name it did not create" in reason


def test_abstract_squat_served_by_attacker(kinds_run):
    name = "abstract-squat"
    s = kinds_run.scenario(name)
    assert s["verdict"] == "fail", s["reason"]
    assert failing(kinds_run, name) == {"clients_reach_server_only", "server_owns_endpoint"}
    # the server's bind was refused (EADDRINUSE): it took nothing over
    assert status(kinds_run, name, "server_refuses_squatted_name") == "held"


def test_fifo_squat_inode_evidence_and_unknown_server(kinds_run):
    name = "fifo-squat"
    assert kinds_run.scenario(name)["verdict"] == "fail"
    # a FIFO has no peer credentials: who read is unknown, said so
    assert status(kinds_run, name, "clients_reach_server_only") == "vacuous"
    assert "FIFO" in kinds_run.expectation(name, "clients_reach_server_only")["reason"]
    for a in events(kinds_run, name, "attempt"):
        if a["outcome"] == "ok":
            assert a["served_by"] == "unknown"
    # ... but the inode the clients opened is mallory's
    assert status(kinds_run, name, "server_owns_endpoint") == "failed"


def test_run_server_first_as_attacker_then_the_real_server(kinds_run):
    name = "run-server"
    trace = kinds_run.trace(name)
    start = events(kinds_run, name, "attacker_start")[0]
    squat = events(kinds_run, name, "squat")[0]
    assert start["action"] == "run-server" and squat["outcome"] == "ok"
    server = events(kinds_run, name, "server_start")[0]
    assert trace.index(squat) < trace.index(server)
    assert os.path.exists(os.path.join(kinds_run.outdir, name, "attacker-mallory.stderr"))
    assert failing(kinds_run, name) == {"server_refuses_squatted_name"}


def test_after_start_squat_waits_its_delay_and_meets_a_taken_name(kinds_run):
    # counted from when the server's endpoint first accepted
    name = "after-start"
    serving = events(kinds_run, name, "instance_accepting")[0]
    start = events(kinds_run, name, "attacker_start")[0]
    assert start["t"] - serving["t"] >= 50_000_000
    squat = events(kinds_run, name, "squat")[0]
    assert squat["outcome"] == "EADDRINUSE"
    assert kinds_run.scenario(name)["verdict"] == "pass"


def test_in_gap_that_never_opens_is_inconclusive(kinds_run):
    # chmod_before_listen never unlinks: the required gap hold never fires
    s = kinds_run.scenario("gap-never-opens")
    assert s["verdict"] == "inconclusive", s["reason"]
    assert "required and never fired" in s["reason"]


def test_kinds_leave_nothing_behind(kinds_run):
    assert leftovers(kinds_run.results["run"]["id"]) == []
    assert attacker_processes_left(kinds_run) == []


@pytest.mark.parametrize("text,where", [
    ("attackers: [{action: squat}]\n", ":4:13:"),
    ("attackers: [{account: eve, action: squat}]\n", ":4:23:"),
    ("attackers: [{account: mallory, action: sniff}]\n", ":4:40:"),
    ("attackers: [{account: mallory, action: squat, when: in-gap}]\n", None),
])
def test_check_refuses_impossible_attackers(pipefault, tmp_path, text, where):
    kind = "abstract" if where is None else "unix"
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nserver: {fixture: abstract}\n"
                 "accounts: [{name: alice, allowed: true}, {name: mallory}]\n"
                 f"{text}endpoint: {{kind: {kind}, path: s}}\nexpect: [server_owns_endpoint]\n")
    proc = subprocess.run([pipefault, "check", str(f)], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert f"{f}{where or ':4:53:'}" in proc.stderr, proc.stderr


def test_report_colours_attempts_served_by_an_attacker(suite_run, browser):
    from test_report import load, section, wait_for
    load(browser, os.path.join(suite_run.outdir, "index.html"),
         "#scenario-attack-unlink-rebind-in-gap")
    count = "return arguments[0].querySelectorAll('svg .pf-attempt[fill=\"#e64980\"]').length"
    sec = section(browser, "attack-unlink-rebind-in-gap")
    served = sum(1 for a in suite_run.trace("attack-unlink-rebind-in-gap")
                 if a["ev"] == "attempt" and a["served_by"] == "attacker:mallory")
    assert wait_for(browser, count, sec) == served
    load(browser, os.path.join(suite_run.outdir, "index.html"),
         "#scenario-attack-private-dir-in-gap")
    sec = section(browser, "attack-private-dir-in-gap")
    wait_for(browser, "return arguments[0].querySelectorAll('svg .pf-attempt').length", sec)
    assert browser.execute_script(count, sec) == 0
