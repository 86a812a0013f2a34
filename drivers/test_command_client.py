"""Command clients (clients[].command), run through the CLI: a user's client
program run as the client's account, its exit status in the trace, the bytes
it sent to a squatter as evidence, the verifying client passing and the
trusting one failing for that reason, `check` refusals with file:line:col,
and no process of theirs left after the run."""
import os
import subprocess

import pytest

from conftest import ROOT, leftovers, process_groups
from test_attack import SUITE, attacker_processes_left, events, run_cli

TRUSTING = "attack-unlink-rebind-trusting-client"
VERIFYING = "attack-unlink-rebind-verifying-client"
SERVED = "attack-private-dir-verifying-client"
NAMES = (TRUSTING, VERIFYING, SERVED)


@pytest.fixture(scope="module")
def cmd_run(pipefault, tmp_path_factory):
    paths = [os.path.join(SUITE, n.replace("attack-", "") + ".yaml") for n in NAMES]
    return run_cli(pipefault, str(tmp_path_factory.mktemp("cmd") / "out"), *paths)


def uid_of(trace, account):
    return next(e["uid"] for e in trace if e["ev"] == "account" and e["name"] == account)


def test_command_client_runs_as_the_account_and_its_exit_is_recorded(cmd_run):
    for name, status in ((TRUSTING, 0), (VERIFYING, 2), (SERVED, 0)):
        trace = cmd_run.trace(name)
        starts = events(cmd_run, name, "client_start")
        exits = events(cmd_run, name, "client_exit")
        assert len(starts) == len(exits) == 2, name
        assert {e["pid"] for e in starts} == {e["pid"] for e in exits}
        for e in starts:
            assert e["account"] == "alice" and e["uid"] == uid_of(trace, "alice") != 0
            assert e["argv"][0].endswith("/fixtures/posix/" + (
                "trusting_client" if name == TRUSTING else "verifying_client"))
        for e in exits:
            assert e["status"] == status and e["signal"] is None and not e["stopped"], e
        assert not [e for e in trace if e["ev"] == "attempt"]   # not the harness's client


def test_output_captured_in_the_store(cmd_run):
    d = os.path.join(cmd_run.outdir, cmd_run.scenario(VERIFYING)["name"])
    with open(os.path.join(d, "client-alice-1.stderr")) as f:
        assert "not by root" in f.read() and "refusing it" in open(
            os.path.join(d, "client-alice-2.stderr")).read()
    d = os.path.join(cmd_run.outdir, cmd_run.scenario(SERVED)["name"])
    with open(os.path.join(d, "client-alice-1.stdout")) as f:
        assert f.read() == "reply: ok\n"


def test_squatter_records_bytes_each_client_sent(cmd_run):
    request = len("GET token=s3cret\n")
    for name, sent in ((TRUSTING, request), (VERIFYING, 0)):
        conns = events(cmd_run, name, "squatter_connection")
        pids = {e["pid"] for e in events(cmd_run, name, "client_exit")}
        assert len(conns) == 2 and {c["peer_pid"] for c in conns} == pids, name
        for c in conns:
            assert c["bytes_received"] == sent and c["peer_account"] == "alice", c
            assert c["peer_pgid"] in pids or c["peer_pgid"] is None


def test_trusting_client_fails_for_the_bytes_it_sent(cmd_run):
    s = cmd_run.scenario(TRUSTING)
    assert s["verdict"] == "fail"
    e = cmd_run.expectation(TRUSTING, "clients_reach_server_only")
    assert e["status"] == "failed"
    for x in events(cmd_run, TRUSTING, "client_exit"):
        assert (f"alice's client command {x['client']} (pid {x['pid']}) sent 17 bytes to "
                "attacker:mallory") in e["reason"], e["reason"]


def test_verifying_client_refuses_the_squatter_and_passes(cmd_run):
    assert cmd_run.scenario(VERIFYING)["verdict"] == "pass"
    e = cmd_run.expectation(VERIFYING, "clients_reach_server_only")
    assert e["status"] == "held"
    assert "2 client commands reached an attacker, sent nothing and exited nonzero" in e["reason"]


def test_verifying_client_served_by_the_server_passes(cmd_run):
    assert cmd_run.scenario(SERVED)["verdict"] == "pass"
    assert events(cmd_run, SERVED, "squatter_connection") == []
    e = cmd_run.expectation(SERVED, "clients_reach_server_only")
    assert e["status"] == "held" and "served by the server" in e["reason"]


def test_verdicts_stable_and_nothing_left(pipefault, tmp_path, cmd_run):
    paths = [os.path.join(SUITE, n.replace("attack-", "") + ".yaml") for n in NAMES]
    for seed in (1, 2, 3):
        run = run_cli(pipefault, str(tmp_path / f"o{seed}"), *paths, seed=seed)
        assert {s["name"]: s["verdict"] for s in run.results["scenarios"]} == {
            TRUSTING: "fail", VERIFYING: "pass", SERVED: "pass"}
        assert leftovers(run.results["run"]["id"]) == []
        assert attacker_processes_left(run) == []
        assert client_processes_left(run) == []


def client_processes_left(run):
    """Processes whose process group is a command client's."""
    pids = {e["pid"] for s in run.results["scenarios"] for e in run.trace(s["name"])
            if e["ev"] == "client_start"}
    return [str(p) for p, pgid, _ in process_groups() if p in pids or pgid in pids]


BASE = ("name: bad\nserver: {fixture: unlink_rebind}\n"
        "endpoint: {kind: unix, path: s, dir_mode: \"1777\"}\n"
        "accounts: [{name: alice, allowed: true}, {name: mallory}]\n"
        "attackers: [{account: mallory, action: squat}]\n")


@pytest.mark.parametrize("client,expect,where,words", [
    ('{account: alice, command: [x], attempts: 3}', "clients_reach_server_only", ":6:42:",
     "'attempts' does not apply to a client with 'command'"),
    ('{account: alice, protocol: send, command: [x]}', "clients_reach_server_only", ":6:28:",
     "'protocol' does not apply"),
    ('{account: alice, command: [x], read_timeout: 1s}', "clients_reach_server_only", ":6:42:",
     "'read_timeout' does not apply"),
    ('{account: alice, command: []}', "clients_reach_server_only", ":6:37:",
     "'command' must name a program"),
    ('{account: alice, command: ["{fixture:../x}"]}', "clients_reach_server_only", ":6:38:",
     "is not a fixture name"),
    ('{account: alice, command: [x]}', "server_owns_endpoint", ":7:10:",
     "judged from the harness's own client attempts"),
    ('{account: alice, command: [x]}', "others_never_admitted", ":7:10:",
     "every client here is a 'command' client"),
    ('{account: alice, command: [x]}]\n'
     'faults: [{at: connect, action: fail, errno: EACCES, target: alice}',
     "clients_reach_server_only", ":7:10:", "every client of alice is a 'command' client"),
])
def test_check_refuses_with_file_line_col(pipefault, tmp_path, client, expect, where, words):
    f = tmp_path / "bad.yaml"
    f.write_text(f"{BASE}clients: [{client}]\nexpect: [{expect}]\n")
    proc = subprocess.run([pipefault, "check", str(f)], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert f"{f}{where}" in proc.stderr and words in proc.stderr, proc.stderr


def test_check_accepts_command_with_a_harness_client_beside_it(pipefault, tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text(f"{BASE}clients: [{{account: alice, command: [x]}}, {{account: alice}}]\n"
                 "expect: [server_owns_endpoint, clients_reach_server_only]\n")
    proc = subprocess.run([pipefault, "check", str(f)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_results_show_command_clients_and_their_exits(cmd_run):
    for name, exits in ((TRUSTING, {"exit 0": 2}), (VERIFYING, {"exit 2": 2})):
        alice = next(c for c in cmd_run.scenario(name)["clients"] if c["account"] == "alice")
        assert alice["command_exits"] == exits and alice["attempts"] == 0
        assert alice["protocols"][0]["protocol"] == "command"
        assert alice["protocols"][0]["clients"] == ["alice#1", "alice#2"]
