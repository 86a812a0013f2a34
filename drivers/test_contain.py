"""Containment: whatever the server starts ends with its scenario.

A daemonizing fixture (fork, setsid, fork; the first process exits 0) is
followed as a daemon and judged, and nothing of it survives a normal end, a
timeout, Ctrl-C, or a SIGKILLed harness followed by `pipefault clean`. Also:
the server's output is capped, and an `error` tells its cause on the console.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import ROOT, leftovers

CAP = 1024 * 1024   # docs/security.md: server.stderr keeps at most 1 MiB and a note


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def scenario(tmp_path, name, server, timeout="10s", attempts=3, interval="1ms", extra="",
             until=", until: accepting"):
    return write(tmp_path, f"{name}.yaml", f"""\
name: {name}
server:
{server}
  timeout: {timeout}
  ready_timeout: 5s
endpoint: {{kind: unix, path: s.sock}}
intended: {{mode: "0660", group: ops}}
groups: [ops]
accounts:
  - {{name: alice, groups: [ops], allowed: true}}
clients:
  - {{account: alice, attempts: {attempts}, interval: {interval}{until}}}
expect: [intended_before_accept]
""" + extra)


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.startswith("cgroup2 "):
                return left.split()[4]
    return None


def run_cgroups(run_id):
    """The run's cgroup directories still present."""
    mnt = cgroup2_mount()
    base = os.path.join(mnt, "pipefault") if mnt else None
    if not base or not os.path.isdir(base):
        return []
    return [e for e in os.listdir(base) if e.startswith(f"{run_id}-")]


def alive(pid):
    """A process that still runs (a zombie waiting for init is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def daemon_pid_from_stderr(path):
    with open(path) as f:
        m = re.search(r"daemonize: daemon pid (\d+)", f.read())
    assert m, "the daemon never named its pid"
    return int(m.group(1))


def wait_for(predicate, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


def trace_events(path):
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass   # a line being written
    return out


def assert_nothing_left(run_id, daemon):
    assert not alive(daemon), f"daemon {daemon} survived"
    assert run_cgroups(run_id) == []
    assert leftovers(run_id) == []


def test_daemon_is_followed_and_judged(run_pipefault, tmp_path):
    path = scenario(tmp_path, "daemon", "  fixture: daemonize")
    run = run_pipefault(path)
    assert run.rc == 0, run.stderr
    s = run.scenario("daemon")
    assert s["verdict"] == "pass", s
    events = run.trace("daemon")
    start = next(e for e in events if e["ev"] == "server_start")
    followed = [e for e in events if e["ev"] == "server_daemon"]
    daemon = daemon_pid_from_stderr(os.path.join(run.outdir, "daemon", "server.stderr"))
    # The intermediate child may still be there when the main process exits:
    # then it is followed first, and the grandchild once it is gone.
    assert followed and followed[-1]["daemon_pid"] == daemon
    assert len(followed) <= 2
    assert all(e["pid"] == start["pid"] != e["daemon_pid"] for e in followed)
    assert start["containment"] == "cgroup"
    assert_nothing_left(run.results["run"]["id"], daemon)


def test_daemon_that_exits_is_the_server_exiting(run_pipefault, tmp_path):
    # The daemon binds, listens and leaves while alice still has attempts.
    server = ('  command: ["/bin/sh", "-c", "setsid /usr/bin/python3 -c \'import socket,sys,'
              'time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); '
              'time.sleep(0.3)\' \\"$0\\" & exit 0", "{endpoint}"]')
    path = scenario(tmp_path, "leaves", server, attempts=100000, interval="5ms", until="")
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    s = run.scenario("leaves")
    assert s["verdict"] == "error"
    assert re.search(r"the server's daemon \(pid \d+\) exited before the clients finished",
                     s["reason"]), s["reason"]
    assert any(e["ev"] == "server_daemon" for e in run.trace("leaves"))
    assert leftovers(run.results["run"]["id"]) == []


def test_daemon_is_killed_at_timeout(run_pipefault, tmp_path):
    # The daemon's chmod is held (its parent's seccomp filter came with it)
    # for an admission that cannot come before listen(): server.timeout ends it.
    path = scenario(tmp_path, "slow", "  fixture: daemonize", timeout="800ms",
                    attempts=100000, interval="5ms", until="",
                    extra="faults:\n  - {at: secure, action: hold, "
                          "until: {account: alice, event: admitted}, timeout: 30s}\n")
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    s = run.scenario("slow")
    assert s["verdict"] == "error"
    assert "timed out" in s["reason"]
    events = run.trace("slow")
    daemon = daemon_pid_from_stderr(os.path.join(run.outdir, "slow", "server.stderr"))
    held = [e for e in events if e["ev"] == "fault" and e.get("decision") == "held"]
    assert held and held[0]["pid"] == daemon, "the daemon's syscall was not supervised"
    assert_nothing_left(run.results["run"]["id"], daemon)


def start_daemon_run(pipefault, tmp_path, name):
    """A run whose daemon serves alice for a long time; returns once the
    daemon is followed and has served."""
    path = scenario(tmp_path, name, "  fixture: daemonize", timeout="60s",
                    attempts=100000, interval="5ms")
    out = tmp_path / "out"
    proc = subprocess.Popen([pipefault, "run", "--out", str(out), path], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    trace = out / name / "trace.jsonl"

    stderr = out / name / "server.stderr"

    def serving():
        evs = trace_events(trace)
        return (any(e["ev"] == "server_daemon" for e in evs) and
                any(e["ev"] == "attempt" for e in evs) and
                b"daemon pid" in stderr.read_bytes())
    try:
        wait_for(serving, "the daemon to serve")
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    evs = trace_events(trace)
    daemon = daemon_pid_from_stderr(stderr)
    run_id = next(e for e in evs if e["ev"] == "server_start")["cgroup"].split("/")[-2]
    return proc, out, daemon, run_id.split("-")[0]


def test_daemon_is_killed_on_ctrl_c(pipefault, tmp_path):
    proc, out, daemon, run_id = start_daemon_run(pipefault, tmp_path, "interrupted")
    assert alive(daemon)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert json.load(open(out / "results.json"))["scenarios"][0]["verdict"] == "error"
    assert_nothing_left(run_id, daemon)


def test_daemon_of_a_killed_harness_is_ended_by_clean(pipefault, tmp_path):
    proc, out, daemon, run_id = start_daemon_run(pipefault, tmp_path, "killed")
    proc.kill()                       # SIGKILL: the harness cannot clean up
    proc.communicate()
    # The daemon does not die with the harness: only the cgroup holds it.
    assert alive(daemon)
    assert run_cgroups(run_id) != []
    clean = subprocess.run([pipefault, "clean"], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert run_id in clean.stderr
    assert_nothing_left(run_id, daemon)


def test_server_stderr_is_capped_with_a_note(run_pipefault, tmp_path):
    # 3 MB of "é\n" (the caps can fall inside a character), then a last line.
    server = ('  command: ["/bin/sh", "-c", "yes é | head -c 3000000 >&2; '
              'echo last-line-kept >&2; exit 7"]')
    path = scenario(tmp_path, "loud", server)
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    with open(os.path.join(run.outdir, "loud", "server.stderr"), "rb") as f:
        data = f.read()
    m = re.search(rb"\n\[pipefault: (\d+) bytes not kept\]\n", data)
    assert m, "no note where the output was cut"
    note = len(m.group(0))
    assert len(data) <= CAP + note
    written = 3000000 + len(b"last-line-kept\n")
    assert int(m.group(1)) == written - (len(data) - note)
    # Both parts are whole characters: the file decodes as it was written.
    head, tail = data[:m.start()], data[m.end():]
    assert head.decode("utf-8").startswith("é\n")
    assert tail.decode("utf-8").endswith("é\nlast-line-kept\n")
    s = run.scenario("loud")
    assert s["server"]["stderr_tail"].endswith("last-line-kept\n")
    assert "\ufffd" not in s["server"]["stderr_tail"]
    assert "last-line-kept" in run.stderr        # the console shows the tail


def test_error_shows_the_server_stderr_tail_on_the_console(run_pipefault, tmp_path):
    server = ('  command: ["/bin/sh", "-c", "echo one >&2; printf \'caf\\\\303\\\\251 '
              'boom\\\\n\' >&2; exit 7"]')
    path = scenario(tmp_path, "crash", server)
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    assert "exited with status 7" in run.stderr
    lines = run.stderr.splitlines()
    i = next(k for k, line in enumerate(lines) if "server stderr" in line)
    assert lines[i + 1].strip() == "| one"
    assert lines[i + 2].strip() == "| café boom"


def test_passing_scenario_shows_no_stderr(run_pipefault, tmp_path):
    path = scenario(tmp_path, "quiet", "  fixture: daemonize")
    run = run_pipefault(path)
    assert run.rc == 0, run.stderr
    assert "server stderr" not in run.stderr


def test_missing_server_binary_names_the_cause(run_pipefault, tmp_path):
    path = scenario(tmp_path, "missing", '  command: ["/nonexistent/pf-server"]')
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    want = "cannot execute /nonexistent/pf-server: No such file or directory"
    assert run.scenario("missing")["reason"] == want
    assert want in run.stderr
    assert run_cgroups(run.results["run"]["id"]) == []
    assert leftovers(run.results["run"]["id"]) == []


def test_without_cgroup2_a_subreaper_still_ends_the_daemon(pipefault, tmp_path):
    # A mount namespace without the cgroup2 mount: the documented fallback.
    mnt = cgroup2_mount()
    if not mnt:
        pytest.skip("no cgroup2 mount to hide")
    path = scenario(tmp_path, "fallback", "  fixture: daemonize")
    out = tmp_path / "out"
    proc = subprocess.run(["unshare", "-m", "sh", "-c", 'umount "$0" && exec "$@"', mnt,
                           pipefault, "run", "--out", str(out), path],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "no cgroup v2" in proc.stderr
    assert proc.returncode == 0, proc.stderr
    results = json.load(open(out / "results.json"))
    assert results["scenarios"][0]["verdict"] == "pass"
    events = trace_events(out / "fallback" / "trace.jsonl")
    start = next(e for e in events if e["ev"] == "server_start")
    assert start["containment"] == "subreaper" and start["cgroup"] is None
    daemon = daemon_pid_from_stderr(out / "fallback" / "server.stderr")
    assert any(e["ev"] == "server_daemon" and e["daemon_pid"] == daemon for e in events)
    assert_nothing_left(results["run"]["id"], daemon)
