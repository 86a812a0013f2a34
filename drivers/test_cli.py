"""The CLI contract: exit codes, bad input, help, and what a broken server,
a hung server, a timeout or Ctrl-C leave behind (nothing)."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import ROOT, Run, leftovers, processes_of_run


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BASE = """\
name: {name}
server:
{server}
  timeout: {timeout}
  ready_timeout: {ready}
endpoint: {{kind: unix, path: s.sock}}
intended: {{mode: "0660"}}
accounts:
  - {{name: alice, allowed: true}}
clients:
  - {{account: alice, attempts: {attempts}, interval: {interval}}}
expect: [intended_before_accept]
"""


def scenario(tmp_path, name, server, timeout="10s", ready="5s", extra="", attempts=3,
             interval="1ms"):
    return write(tmp_path, f"{name}.yaml",
                 BASE.format(name=name, server=server, timeout=timeout, ready=ready,
                             attempts=attempts, interval=interval) + extra)


def test_help_on_every_verb(pipefault):
    for verb in ([], ["run"], ["check"], ["report"], ["clean"]):
        proc = subprocess.run([pipefault, *verb, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0, verb
        assert "usage: pipefault" in proc.stdout, verb


def test_bad_arguments_exit_2(pipefault, tmp_path):
    cases = [
        [],
        ["frobnicate"],
        ["run"],
        ["run", "--seed", "abc", "scenarios/posix"],
        ["run", "--seed", "-1", "scenarios/posix"],
        ["run", "--nope", "scenarios/posix"],
        ["check"],
        ["report"],
        ["run", str(tmp_path / "missing.yaml")],
    ]
    for args in cases:
        proc = subprocess.run([pipefault, *args], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.strip(), args


def test_check_reports_file_line_col(pipefault, tmp_path):
    path = write(tmp_path, "broken.yaml", "name: broken\nserver:\n  fixtur: chmod_after_listen\n")
    proc = subprocess.run([pipefault, "check", path], capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{path}:3:3:" in proc.stderr, proc.stderr
    assert "fixtur" in proc.stderr


def test_check_accepts_the_bundled_suites(pipefault):
    proc = subprocess.run([pipefault, "check", "scenarios/posix"], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_run_with_a_broken_scenario_runs_nothing(pipefault, tmp_path):
    good = os.path.join(ROOT, "scenarios", "posix", "umask-bind.yaml")
    bad = write(tmp_path, "bad.yaml", "name: bad\nplatform: beos\n")
    out = tmp_path / "out"
    proc = subprocess.run([pipefault, "run", "--out", str(out), good, bad],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert f"{bad}:2:11:" in proc.stderr, proc.stderr
    assert not out.exists()


def test_out_that_holds_an_earlier_run_is_refused(pipefault, tmp_path):
    """Store files are created exclusively: reusing a store would make each
    scenario an error halfway through, so a non-empty --out is bad input
    before anything runs, and what is there is left untouched."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("earlier\n")
    good = os.path.join(ROOT, "scenarios", "posix", "umask-bind.yaml")
    proc = subprocess.run([pipefault, "run", "--out", str(out), good],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert f"refusing --out {out}: it is not empty" in proc.stderr
    assert sorted(os.listdir(out)) == ["results.json"]
    assert (out / "results.json").read_text() == "earlier\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run([pipefault, "run", "--out", str(empty), good],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert (empty / "results.json").exists()


def test_duplicate_scenario_names_are_bad_input(pipefault, tmp_path):
    a = scenario(tmp_path, "same", "  fixture: umask_bind")
    b = write(tmp_path, "other.yaml", open(a).read())
    proc = subprocess.run([pipefault, "check", a, b], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "already used" in proc.stderr


def test_server_crash_is_an_error_with_stderr_tail(run_pipefault, tmp_path):
    path = scenario(tmp_path, "crash",
                    '  command: ["/bin/sh", "-c", "echo boom-on-stderr >&2; exit 7"]')
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    s = run.scenario("crash")
    assert s["verdict"] == "error"
    assert "exited with status 7" in s["reason"]
    assert "boom-on-stderr" in s["server"]["stderr_tail"]
    assert leftovers(run.results["run"]["id"]) == []


def test_endpoint_never_appearing_is_an_error(run_pipefault, tmp_path):
    path = scenario(tmp_path, "never", '  command: ["/bin/sleep", "60"]', ready="300ms")
    run = run_pipefault(path)
    assert run.rc == 1
    s = run.scenario("never")
    assert s["verdict"] == "error"
    assert "never appeared" in s["reason"]
    assert processes_of_run("/bin/sleep 60") == []
    assert leftovers(run.results["run"]["id"]) == []


def test_timeout_is_an_error_and_kills_the_server(run_pipefault, tmp_path):
    # The chmod is held for an event that never comes, longer than the
    # scenario may take, while the client keeps trying: the harness gives up
    # at server.timeout.
    path = scenario(tmp_path, "slow", "  fixture: chmod_after_listen", timeout="500ms",
                    attempts=100000, interval="5ms",
                    extra="faults:\n  - {at: secure, action: hold, "
                          "until: {account: alice, event: admitted}, timeout: 30s}\n")
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    s = run.scenario("slow")
    assert s["verdict"] == "error"
    assert "timed out" in s["reason"]
    rid = run.results["run"]["id"]
    assert processes_of_run(f"pipefault-{rid}") == []
    assert leftovers(rid) == []


def start_held_run(pipefault, tmp_path, name, **popen):
    """Starts a run whose server is held at its chmod for good (the hold waits
    for an admission that 0660 root:root never grants) and returns once the
    trace says so: the server is then stopped, clients run, accounts exist."""
    path = scenario(tmp_path, name, "  fixture: chmod_after_listen", timeout="60s",
                    attempts=100000, interval="5ms",
                    extra="faults:\n  - {at: secure, action: hold, "
                          "until: {account: alice, event: admitted}, timeout: 50s}\n")
    out = tmp_path / "out"
    proc = subprocess.Popen([pipefault, "run", "--out", str(out), path], cwd=ROOT, **popen)
    trace = out / name / "trace.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if trace.exists() and '"decision":"held"' in trace.read_text():
            return proc, out, trace
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the hold never started")


def test_ctrl_c_cleans_up_and_exits_3(pipefault, tmp_path):
    proc, out, _ = start_held_run(pipefault, tmp_path, "interrupted", stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "interrupted" in err
    results = json.load(open(out / "results.json"))
    assert results["run"]["complete"] is False
    assert results["scenarios"][0]["verdict"] == "error"
    rid = results["run"]["id"]
    assert leftovers(rid) == []
    assert processes_of_run(f"pipefault-{rid}") == []


def test_not_root_exits_3(pipefault, tmp_path):
    suite = os.path.join(ROOT, "scenarios", "posix")
    proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           pipefault, "run", "--out", str(tmp_path / "o"), suite],
                          capture_output=True, text=True, cwd="/")
    assert proc.returncode == 3, proc.stderr
    assert "need root" in proc.stderr


def test_default_store_has_latest_link(pipefault, tmp_path):
    path = os.path.join(ROOT, "scenarios", "posix", "umask-bind.yaml")
    proc = subprocess.run([pipefault, "run", "--seed", "3", path], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    latest = tmp_path / "out" / "latest"
    assert latest.is_symlink()
    results = json.load(open(latest / "results.json"))
    assert results["summary"]["pass"] == 1
    assert (latest / "junit.xml").exists() and (latest / "index.html").exists()
    assert (latest / "umask-bind" / "trace.jsonl").exists()


def test_clean_removes_leftovers_of_a_killed_run(pipefault, tmp_path):
    proc, out, trace = start_held_run(pipefault, tmp_path, "killed",
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = json.loads(trace.read_text().splitlines()[1])  # the platform event
    rid = start["endpoint"].split("pipefault-")[1].split("-")[0]
    proc.kill()                       # SIGKILL: no chance to clean up
    proc.wait()
    # Server and clients die with the harness (parent-death signal).
    deadline = time.monotonic() + 10
    while processes_of_run(f"pipefault-{rid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_of_run(f"pipefault-{rid}") == []
    assert leftovers(rid) != []
    clean = subprocess.run([pipefault, "clean"], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert rid in clean.stderr
    assert leftovers(rid) == []
