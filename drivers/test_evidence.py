"""What a client proves about itself and its connection: which endpoint inode
served it (peer_key), and that it holds none of the root harness's
descriptors."""
import glob
import os

from conftest import ROOT

POSIX = os.path.join(ROOT, "scenarios", "posix")


def test_clients_hold_only_their_own_descriptors(run_pipefault, monkeypatch):
    """Each client lists /proc/self/fd after dropping to its account: stdio
    and its two pipes to the harness, nothing else (no seccomp listener,
    pidfd, inotify, trace file or other client's pipe)."""
    monkeypatch.setenv("PIPEFAULT_CLIENT_REPORT_FDS", "1")
    run = run_pipefault(os.path.join(POSIX, "chmod-before-listen.yaml"),
                        os.path.join(POSIX, "fifo-chmod.yaml"))
    seen = 0
    pipes_of = {}
    for name in ("chmod-before-listen", "fifo-chmod"):
        events = run.trace(name)
        reports = [e for e in events if e["ev"] == "client_fds"]
        clients = {e["client"] for e in events if e["ev"] == "attempt"}
        assert {r["client"] for r in reports} == clients, reports
        for r in reports:
            fds = {f["fd"]: f["target"] for f in r["fds"]}
            own = {fd: t for fd, t in fds.items() if fd > 2}
            assert len(own) == 2, r
            assert all(t.startswith("pipe:[") for t in own.values()), r
            pipes_of[r["client"] + name] = set(own.values())
            seen += 1
    assert seen >= 4
    # no two clients share a pipe: none kept another's
    all_pipes = [p for s in pipes_of.values() for p in s]
    assert len(all_pipes) == len(set(all_pipes))


def test_admitted_attempts_name_the_inode_that_served_them(run_pipefault):
    """Every admitted attempt either names the endpoint inode that served it,
    and that inode is one of the instances the observer saw born, or says
    why the kernel could not tell. Never a key of something else."""
    run = run_pipefault(*sorted(glob.glob(os.path.join(POSIX, "*.yaml"))))
    keyed = 0
    for s in run.results["scenarios"]:
        events = run.trace(s["name"])
        births = {e["key"] for e in events if e["ev"] == "instance_birth"}
        kind = next(e["endpoint_kind"] for e in events if e["ev"] == "platform")
        for a in (e for e in events if e["ev"] == "attempt"):
            if a["outcome"] != "ok":
                assert "peer_key" not in a, a
                continue
            if kind == "abstract":
                assert a["peer_key"] is None and a["peer_key_missing"] == "abstract", a
            elif kind == "fifo":
                assert a["peer_key"] in births, (a, births)
                keyed += 1
            elif a.get("peer_key") is not None:
                assert a["peer_key"] in births, (a, births)
                keyed += 1
            else:
                # the server accepted and closed before the client could ask
                assert a["peer_key_missing"] == "server-closed", a
    assert keyed > 0


UNTIL_ACCEPTING = """\
name: until-accepting
server: {fixture: chmod_before_listen, umask: "022"}
endpoint: {kind: unix, path: app.sock}
intended: {mode: "0660", group: ops}
groups: [ops]
accounts:
  - {name: alice, groups: [ops], allowed: true}
  - {name: mallory, allowed: false}
clients:
  - {account: alice, count: 4, attempts: 25, interval: 0ms, until: accepting}
  - {account: mallory, count: 4, attempts: 25, interval: 0ms, until: accepting}
faults:
  - {at: listen, when: "1", action: hold, until: {account: mallory, event: attempt}, timeout: 5s}
expect: [intended_before_accept, allowed_never_denied, others_never_admitted]
"""


def test_until_accepting_counts_only_attempts_against_an_accepting_instance(
        run_pipefault, tmp_path):
    """The server's listen is held until mallory's first attempt is over, so
    every client starts against a socket that is not accepting. With `until:
    accepting` those attempts are made and traced but do not count: each
    client goes on until 25 attempts were made after the instance accepted,
    and allowed accounts are served."""
    path = tmp_path / "until-accepting.yaml"
    path.write_text(UNTIL_ACCEPTING)
    run = run_pipefault(str(path))
    assert run.rc == 0, run.stderr
    events = run.trace("until-accepting")
    accepting = [e["t"] for e in events if e["ev"] == "instance_accepting"]
    assert len(accepting) == 1
    attempts = [e for e in events if e["ev"] == "attempt"]
    early = [a for a in attempts if a["t"] < accepting[0]]
    assert early and not any(a["counted"] for a in early)
    for label in {a["client"] for a in attempts}:
        mine = [a for a in attempts if a["client"] == label]
        assert sum(a["counted"] for a in mine) == 25, label
        assert all(a["t"] >= accepting[0] for a in mine if a["counted"]), label
    served = [a for a in attempts if a["account"] == "alice" and a["outcome"] == "ok"]
    assert len(served) >= 4 * 25
