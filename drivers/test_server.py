"""The server as its user: server.user/group/groups, env, cwd and files:,
run through the CLI. Each scenario is written here, next to what the run
must show; nothing may be left behind."""
import os
import subprocess
import textwrap

from conftest import leftovers, processes_of_run


def write(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def account(run, scenario, name):
    for e in run.trace(scenario):
        if e["ev"] == "account" and e["name"] == name:
            return e
    raise KeyError(name)


def event(run, scenario, ev):
    return [e for e in run.trace(scenario) if e["ev"] == ev]


def server_stdout(run, scenario):
    with open(os.path.join(run.outdir, scenario, "server.stdout")) as f:
        return f.read()


def assert_clean(run):
    run_id = run.results["run"]["id"]
    assert leftovers(run_id) == []
    assert processes_of_run(f"pipefault-{run_id}") == []


# chmod_before_listen binds in the run's endpoint directory: as alice it can
# only do so if that directory is hers. It then chowns the socket to ops,
# which alice may do only as a member of ops.
AS_ALICE = """\
    name: {name}
    server:
      fixture: chmod_before_listen
      user: alice
    endpoint: {{kind: unix, path: app.sock}}
    intended: {{mode: "0660", group: ops}}
    groups: [ops]
    accounts:
      - {{name: alice, groups: [ops], allowed: true}}
      - {{name: mallory, allowed: false}}
    clients:
      - {{account: alice, attempts: 5, interval: 2ms, until: accepting}}
      - {{account: mallory, attempts: 5, interval: 2ms, until: accepting}}
    faults:
      - {{at: secure, when: "1", action: hold, until: {{account: mallory, event: refused}},
         timeout: 5s}}
    expect: [intended_before_accept, allowed_never_denied, others_never_admitted,
             no_default_instance]
"""


def test_server_as_scenario_account_binds_and_owns_its_socket(run_pipefault, tmp_path):
    run = run_pipefault(write(tmp_path, "as-alice", AS_ALICE.format(name="as-alice")))
    s = run.scenario("as-alice")
    alice = account(run, "as-alice", "alice")
    start = event(run, "as-alice", "server_start")[0]
    assert (start["uid"], start["user"]) == (alice["uid"], alice["user"]), start
    assert start["gid"] == alice["gid"]      # the account's primary group
    birth = event(run, "as-alice", "instance_birth")[0]
    # Born as alice's, with the default the kernel gives alice (umask 022):
    # the instance is `default`, and the default's owner is alice, not root.
    assert birth["perm"]["owner"] == alice["user"], birth
    assert birth["perm"]["mode"] == "0755"
    assert birth["default"] == birth["perm"], birth
    assert birth["default_evidence"] == "creator"
    held = {e["id"]: e["held"] for e in s["expectations"]}
    assert held == {"intended_before_accept": True, "allowed_never_denied": True,
                    "others_never_admitted": True, "no_default_instance": False}, (s["reason"], held)
    assert_clean(run)


def test_foreign_group_is_the_default_group(run_pipefault, tmp_path):
    """alice, not a member of ops, runs the server with group ops: the
    socket is born 0755 alice:ops, which is the kernel's default for that
    creator, so no_default_instance fails."""
    text = AS_ALICE.format(name="foreign-group").replace(
        "user: alice\n", "user: alice\n      group: ops\n").replace(
        "{name: alice, groups: [ops], allowed: true}", "{name: alice, allowed: true}")
    run = run_pipefault(write(tmp_path, "foreign-group", text))
    s = run.scenario("foreign-group")
    alice = account(run, "foreign-group", "alice")
    start = event(run, "foreign-group", "server_start")[0]
    assert start["uid"] == alice["uid"] and start["gid"] != alice["gid"], start
    birth = event(run, "foreign-group", "instance_birth")[0]
    assert birth["perm"]["owner"] == alice["user"], birth
    assert birth["perm"]["gid"] == start["gid"], birth
    assert birth["perm"]["group"].endswith("_ops"), birth
    assert birth["perm"]["mode"] == "0755"
    assert birth["default"] == birth["perm"], birth
    held = {e["id"]: e["held"] for e in s["expectations"]}
    assert held == {"intended_before_accept": True, "allowed_never_denied": True,
                    "others_never_admitted": True, "no_default_instance": False}, (s["reason"], held)
    assert s["verdict"] == "fail", s["reason"]
    assert_clean(run)


ENV_CWD = """\
    name: env-cwd
    server:
      command: ["/bin/sh", "-c", "env; echo cwd=$(pwd); echo uid=$(id -u) gid=$(id -g);
                grep NoNewPrivs /proc/self/status; mkfifo -m 0600 \\"$1\\"; exec sleep 30",
                "sh", "{endpoint}"]
      user: alice
      env: {GREETING: "hello from {rundir}", PATH: "/usr/bin:/bin"}
      cwd: "{rundir}/conf"
    endpoint: {kind: fifo, path: f}
    accounts: [{name: alice}]
    files:
      - {path: conf/placeholder, content: ""}
    expect: [no_default_instance]
"""


def test_env_and_cwd_reach_the_server(run_pipefault, tmp_path, monkeypatch):
    # Nothing of the harness's own environment may reach the server.
    monkeypatch.setenv("PIPEFAULT_LEAK_CHECK", "leaked")
    run = run_pipefault(write(tmp_path, "env-cwd", ENV_CWD))
    s = run.scenario("env-cwd")
    # No client ever connects: the run cannot judge, and says so.
    assert s["verdict"] == "inconclusive", s["reason"]
    out = server_stdout(run, "env-cwd")
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line
               and not line.startswith(("cwd=", "uid=")))
    start = event(run, "env-cwd", "server_start")[0]
    rundir = os.path.dirname(start["cwd"])
    alice = account(run, "env-cwd", "alice")
    assert env["GREETING"] == f"hello from {rundir}", out
    assert env["PATH"] == "/usr/bin:/bin", out     # server.env overrides the default
    assert env["USER"] == alice["user"] and env["LOGNAME"] == alice["user"], out
    assert env["HOME"] == rundir, out
    assert "PIPEFAULT_LEAK_CHECK" not in env, out
    assert f"cwd={rundir}/conf" in out.splitlines(), out
    assert f"uid={alice['uid']} gid={alice['gid']}" in out.splitlines(), out
    # no_new_privs: a setuid program the server runs gains nothing.
    assert "NoNewPrivs:\t1" in out.splitlines(), out
    assert_clean(run)


FILES = """\
    name: files
    server:
      command: ["/bin/sh", "-c", "cd {rundir} && stat -c '%n %a %U %G' etc etc/app/app.conf
                top.txt && cat etc/app/app.conf && mkfifo -m 0600 {endpoint} &&
                exec sleep 30"]
      user: alice
    endpoint: {kind: fifo, path: f}
    groups: [ops]
    accounts: [{name: alice, groups: [ops]}, {name: bob}]
    files:
      - path: etc/app/app.conf
        content: |
          listen = {endpoint}
          user = {user:bob}
          group = {group:ops}
          literal = {{not a placeholder}
        mode: "0640"
        owner: bob
        group: ops
      - {path: top.txt, content: "x"}
    expect: [no_default_instance]
"""


def test_files_written_with_content_mode_owner(run_pipefault, tmp_path):
    run = run_pipefault(write(tmp_path, "files", FILES))
    s = run.scenario("files")
    assert s["verdict"] == "inconclusive", s["reason"]   # no clients
    out = server_stdout(run, "files").splitlines()
    alice = account(run, "files", "alice")["user"]
    bob = account(run, "files", "bob")["user"]
    ops = alice[:9] + "ops"
    start = event(run, "files", "server_start")[0]
    endpoint = os.path.join(start["cwd"], "ep", "f")   # cwd: the run directory
    # Subdirectories are the server's; the file has the mode and owner given;
    # by default a file is the server user's, 0644.
    assert out[0] == f"etc 755 {alice} nogroup", out
    assert out[1] == f"etc/app/app.conf 640 {bob} {ops}", out
    assert out[2] == f"top.txt 644 {alice} nogroup", out
    assert out[3:7] == [f"listen = {endpoint}", f"user = {bob}", f"group = {ops}",
                        "literal = {not a placeholder}"], out
    assert_clean(run)


BAD = """\
name: bad
server: {{fixture: chmod_before_listen{server}}}
endpoint: {{kind: unix, path: s}}
accounts: [{{name: alice}}]
expect: [no_default_instance]
{extra}"""


def check(pipefault, tmp_path, server="", extra=""):
    path = str(tmp_path / "bad.yaml")
    with open(path, "w") as f:
        f.write(BAD.format(server=server, extra=extra))
    proc = subprocess.run([pipefault, "check", path], capture_output=True, text=True)
    return proc.returncode, proc.stderr, path


def test_check_unknown_user(pipefault, tmp_path):
    rc, err, path = check(pipefault, tmp_path, server=", user: no-such-user-pf")
    assert rc == 2, err
    assert f"{path}:2:46: server.user 'no-such-user-pf' is neither an account of this " \
           "scenario nor a user of this system" in err, err


def test_check_system_user_and_group_accepted(pipefault, tmp_path):
    rc, err, _ = check(pipefault, tmp_path,
                       server=", user: nobody, group: nogroup, groups: [daemon]")
    assert rc == 0, err


def test_check_dotdot_file_path(pipefault, tmp_path):
    rc, err, path = check(pipefault, tmp_path,
                          extra="files: [{path: a/../../etc/x, content: x}]\n")
    assert rc == 2, err
    assert f"{path}:6:16: file path 'a/../../etc/x' must stay inside the run directory" in err, err


def test_check_unknown_placeholder_in_file(pipefault, tmp_path):
    rc, err, path = check(pipefault, tmp_path,
                          extra="files: [{path: c, content: \"at {endpiont}\"}]\n")
    assert rc == 2, err
    assert f"{path}:6:28: unknown placeholder {{endpiont}} in \"at {{endpiont}}\"" in err, err


def test_check_unknown_placeholder_in_env(pipefault, tmp_path):
    rc, err, path = check(pipefault, tmp_path, server=", env: {A: \"{rundri}\"}")
    assert rc == 2, err
    assert f"{path}:2:49: unknown placeholder {{rundri}}" in err, err


def test_check_duplicate_file_path(pipefault, tmp_path):
    rc, err, path = check(pipefault, tmp_path,
                          extra="files:\n  - {path: c, content: x}\n  - {path: c, content: y}\n")
    assert rc == 2, err
    assert f"{path}:8:12: file 'c' is listed twice (first at line 7)" in err, err


def test_check_win32_refuses_server_user(pipefault, tmp_path):
    path = write(tmp_path, "w", """\
        name: w
        platform: win32
        server: {fixture: secure, user: alice}
        endpoint: {kind: npipe, path: p}
        intended: {sddl: "D:(A;;GA;;;WD)"}
        accounts: [{name: alice}]
        expect: [no_default_instance]
    """)
    proc = subprocess.run([pipefault, "check", path], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:3:33: 'server.user' is not supported on win32" in proc.stderr, proc.stderr


# A server's socket type is not in the scenario: the clients find it. A
# datagram socket receives from its bind on (there is no listen), so the
# window before its chmod is open from birth.
DGRAM = """\
    name: {name}
    server:
      command: ["/usr/bin/python3", "-c", "import os, socket, sys\\ns = socket.socket(socket.AF_UNIX, socket.{kind})\\ns.bind(sys.argv[1])\\n{listen}os.chmod(sys.argv[1], 0o660)\\n{serve}", "{{endpoint}}"]
      umask: "000"
    endpoint: {{kind: unix, path: log.sock}}
    intended: {{mode: "0660"}}
    accounts:
      - {{name: mallory, allowed: false}}
    clients:
      - {{account: mallory, attempts: 4, interval: 2ms, protocol: connect, until: accepting}}
    faults:
      - {{at: secure, action: hold, until: {{account: mallory, event: admitted}}, timeout: 5s,
         required: true}}
    expect: [intended_before_accept, others_never_admitted]
"""


def test_datagram_socket_accepts_from_bind_and_its_window_is_found(run_pipefault, tmp_path):
    path = write(tmp_path, "dgram", DGRAM.format(
        name="dgram", kind="SOCK_DGRAM", listen="", serve="while True: s.recv(100)"))
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    assert run.scenario("dgram")["verdict"] == "fail"
    accepting = event(run, "dgram", "instance_accepting")
    assert [e["evidence"] for e in accepting] == ["bind-dgram"]
    births = event(run, "dgram", "instance_birth")
    assert accepting[0]["t"] >= births[0]["t"]
    attempts = event(run, "dgram", "attempt")
    # Admitted while the chmod was held; after its release, the chmod and
    # the next attempts race (the hold only opens the window).
    assert attempts[0]["outcome"] == "ok"
    assert {a["outcome"] for a in attempts} <= {"ok", "EACCES"}
    detail = run.expectation("dgram", "others_never_admitted")["detail"]
    assert "mallory (not allowed) was admitted" in detail, detail
    assert_clean(run)


def test_seqpacket_socket_is_reached_with_its_own_type(run_pipefault, tmp_path):
    # Listens before its chmod: mallory is admitted in between, through a
    # SOCK_SEQPACKET connect the client found by itself.
    serve = "while True:\\n s.accept()[0].close()"
    path = write(tmp_path, "seqpacket", DGRAM.format(
        name="seqpacket", kind="SOCK_SEQPACKET", listen="s.listen(4)\\n", serve=serve))
    run = run_pipefault(path)
    assert run.rc == 1, run.stderr
    assert run.scenario("seqpacket")["verdict"] == "fail"
    accepting = event(run, "seqpacket", "instance_accepting")
    assert [e["evidence"] for e in accepting] == ["listen"]
    counted = [a for a in event(run, "seqpacket", "attempt") if a.get("counted")]
    assert counted[0]["outcome"] == "ok"
    assert {a["outcome"] for a in counted} <= {"ok", "EACCES"}
    detail = run.expectation("seqpacket", "others_never_admitted")["detail"]
    assert "mallory (not allowed) was admitted" in detail, detail
    assert_clean(run)


def test_command_without_a_slash_is_found_in_the_servers_path(run_pipefault, tmp_path):
    # As a shell would, but in the PATH the server runs with (server.env),
    # not the harness's.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "my-umask-server"
    tool.write_text(f"#!/bin/sh\nexec {os.path.join(os.path.dirname(__file__), '..')}"
                    "/fixtures/posix/py_chmod_after_listen.py \"$@\"\n")
    tool.chmod(0o755)
    os.chmod(tmp_path, 0o755)
    scenario = """\
        name: {name}
        server:
          command: ["{cmd}", "--endpoint", "{{endpoint}}", "--mode", "0666"]
          env: {{PATH: "{bindir}:/usr/bin:/bin"}}
          umask: "000"
        endpoint: {{kind: unix, path: app.sock}}
        intended: {{mode: "0666"}}
        accounts:
          - {{name: alice, allowed: true}}
        clients:
          - {{account: alice, attempts: 3, interval: 2ms, until: accepting}}
        expect: [allowed_never_denied]
    """
    found = write(tmp_path, "found", scenario.format(name="found", cmd="my-umask-server",
                                                      bindir=bindir))
    missing = write(tmp_path, "missing", scenario.format(name="missing", cmd="no-such-server",
                                                          bindir=bindir))
    run = run_pipefault(found, missing)
    assert run.scenario("found")["verdict"] == "pass", run.scenario("found")
    reason = run.scenario("missing")["reason"]
    assert reason == (f"cannot execute no-such-server: not found in the server's PATH "
                      f"({bindir}:/usr/bin:/bin)"), reason
    assert_clean(run)
