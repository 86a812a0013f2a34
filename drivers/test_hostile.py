"""A root harness beside hostile users: an unprivileged process swapping
directories for symlinks (renameat2 RENAME_EXCHANGE) while `pipefault clean`
or `pipefault run` sweeps what killed runs left must never make root delete
anything outside those leftovers; names planted in a store are never
followed or truncated; Wine state never lives in /tmp; a harness killed
while it creates accounts leaves nothing `clean` cannot find."""
import ctypes
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINE_DIR = "/var/lib/pipefault/wine"
MARKERS = "/var/lib/pipefault/runs"

NOBODY = 65534
RENAME_EXCHANGE = 2
ROUNDS = 20
libc = ctypes.CDLL(None, use_errno=True)


def dead_pid():
    """A pid no process has now (a child that already exited)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def swapper(a, b):
    """Forks a process that drops to nobody and swaps a and b forever."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            pa, pb = a.encode(), b.encode()
            while True:
                libc.renameat2(-100, pa, -100, pb, RENAME_EXCHANGE)
        finally:
            os._exit(0)
    return pid


def stop(pid):
    os.kill(pid, 9)
    os.waitpid(pid, 0)


@pytest.fixture
def sentinel(tmp_path):
    """A root-owned directory with a file that must survive every round."""
    d = tmp_path / "sentinel"
    d.mkdir()
    (d / "precious").write_text("root's\n")
    os.chmod(tmp_path, 0o755)
    return d


def plant(top, sentinel, owner):
    """top/pub (world-writable) holds a directory d and a symlink l -> sentinel."""
    os.mkdir(top, 0o755)
    os.chown(top, owner, owner)
    pub = os.path.join(top, "pub")
    os.mkdir(pub)
    os.chmod(pub, 0o1777 if owner == 0 else 0o777)
    os.chown(pub, NOBODY, NOBODY)
    d = os.path.join(pub, "d")
    os.mkdir(d)
    for i in range(50):
        open(os.path.join(d, f"f{i}"), "w").close()
    os.chown(d, NOBODY, NOBODY)
    os.symlink(str(sentinel), os.path.join(pub, "l"))
    os.lchown(os.path.join(pub, "l"), NOBODY, NOBODY)
    return os.path.join(pub, "d"), os.path.join(pub, "l")


def test_swapped_symlinks_in_a_dead_runs_work_dir_never_reach_root_files(pipefault, sentinel):
    run_id = secrets.token_hex(3)
    marker_dir = "/var/lib/pipefault/runs"
    os.makedirs(marker_dir, exist_ok=True)
    for _ in range(ROUNDS):
        top = f"/tmp/pipefault-{run_id}-{secrets.token_hex(3)}"
        a, b = plant(top, sentinel, 0)
        # Dead only now: any sweep (of any pipefault) may remove it from here on.
        with open(os.path.join(marker_dir, run_id), "w") as f:
            f.write(f"{dead_pid()}\n")
        pid = swapper(a, b)
        try:
            proc = subprocess.run([pipefault, "clean"], capture_output=True, text=True,
                                  timeout=60)
        finally:
            stop(pid)
        assert proc.returncode == 0, proc.stderr
        assert (sentinel / "precious").exists(), proc.stderr
        assert not os.path.lexists(top), proc.stderr
    assert not os.path.exists(os.path.join(marker_dir, run_id))


def test_the_wine_sweep_never_looks_in_tmp(pipefault, sentinel):
    # A user can make /tmp/pipefault-wine-<dead pid>-* (the old prefix names),
    # and swap its contents around: the sweep does not even look there.
    for _ in range(5):
        top = f"/tmp/pipefault-wine-{dead_pid()}-{secrets.token_hex(3)}"
        a, b = plant(top, sentinel, NOBODY)
        pid = swapper(a, b)
        try:
            proc = subprocess.run([pipefault, "clean"], capture_output=True, text=True,
                                  timeout=60)
        finally:
            stop(pid)
        try:
            assert proc.returncode == 0, proc.stderr
            assert (sentinel / "precious").exists(), proc.stderr
            assert os.path.isdir(top) and len(os.listdir(os.path.join(top, "pub"))) == 2
            assert top not in proc.stderr
        finally:
            shutil.rmtree(top, ignore_errors=True)


def test_wine_state_dir_is_root_only_and_dead_sessions_are_swept(pipefault):
    subprocess.run([pipefault, "clean"], capture_output=True, timeout=60)
    st = os.lstat(WINE_DIR)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o700
    # A session of a harness killed with SIGKILL, and one of a live process.
    dead = os.path.join(WINE_DIR, f"{dead_pid()}-{secrets.token_hex(3)}")
    live = os.path.join(WINE_DIR, f"{os.getpid()}-{secrets.token_hex(3)}")
    for d in (dead, live):
        os.makedirs(os.path.join(d, "prefix", "drive_c"), mode=0o700)
        os.makedirs(os.path.join(d, "tmp"), mode=0o700)
    try:
        proc = subprocess.run([pipefault, "clean"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert not os.path.lexists(dead), proc.stderr
        assert os.path.isdir(live), proc.stderr
        # Not root's alone any more: refused, nothing in it is acted on.
        os.chmod(WINE_DIR, 0o755)
        dead2 = os.path.join(WINE_DIR, f"{dead_pid()}-{secrets.token_hex(3)}")
        os.makedirs(dead2, mode=0o700)
        proc = subprocess.run([pipefault, "clean"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "not private" in proc.stderr
        assert os.path.isdir(dead2)
    finally:
        os.chmod(WINE_DIR, 0o700)
        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(dead2, ignore_errors=True)


def test_wine_keeps_its_socket_dir_in_the_private_session(pipefault, tmp_path):
    if not shutil.which("wine") or not shutil.which("wineserver"):
        pytest.skip("Wine is not installed")
    # Where pipefault finds them (harness/src/helper_dirs.h).
    up = os.path.dirname(os.path.dirname(pipefault))
    win32 = os.path.join(up, "libexec", "pipefault", "win32") \
        if os.path.isdir(os.path.join(up, "libexec", "pipefault")) else os.path.join(up, "win32")
    if not os.path.exists(os.path.join(win32, "pfagent.dll")):
        pytest.skip(f"the Win32 parts are not built in {win32}")
    path = os.path.join(ROOT, "scenarios", "seed", "npipe-close-before-create.yaml")
    proc = subprocess.Popen([pipefault, "run", "--out", str(tmp_path / "out"), path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # The session of this harness, once its wineserver made its socket:
        # Debian's wineserver names its directory in the prefix's file
        # `wineserver` and binds <dir>/server-*/socket.
        def sockets():
            found = []
            for e in os.listdir(WINE_DIR):
                if not e.startswith(f"{proc.pid}-"):
                    continue
                try:
                    name = open(os.path.join(WINE_DIR, e, "prefix", "wineserver")).read().strip()
                    d = os.path.join(WINE_DIR, e, "tmp", name)
                    found += [(name, os.path.join(d, s, "socket")) for s in os.listdir(d)
                              if stat.S_ISSOCK(os.lstat(os.path.join(d, s, "socket")).st_mode)]
                except OSError:
                    pass
            return found
        found = []
        deadline = time.monotonic() + 120
        while not found and time.monotonic() < deadline and proc.poll() is None:
            found = sockets()
            time.sleep(0.05)
        assert found, "the wineserver never made its socket in the session's tmp/"
        name, sock = found[0]
        assert name.startswith("wine-") and not os.path.lexists(os.path.join("/tmp", name))
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 1), err
    assert [e for e in os.listdir(WINE_DIR) if e.startswith(f"{proc.pid}-")] == []


def test_server_stderr_becomes_valid_utf8_in_every_output(run_pipefault, tmp_path):
    # Invalid bytes, and a tail boundary that falls inside a two-byte character.
    script = tmp_path / "noisy.py"
    script.write_text("import sys\n"
                      "sys.stderr.buffer.write(b'a' + 'é'.encode() * 3000 + b'\\xff\\x01\\n')\n"
                      "sys.exit(7)\n")
    path = tmp_path / "noisy.yaml"
    path.write_text(f"""\
name: noisy
server:
  command: ["/usr/bin/python3", "{script}"]
  timeout: 10s
  ready_timeout: 5s
endpoint: {{kind: unix, path: s.sock}}
intended: {{mode: "0660"}}
accounts:
  - {{name: alice, allowed: true}}
clients:
  - {{account: alice, attempts: 1, interval: 1ms}}
expect: [intended_before_accept]
""")
    run = run_pipefault(str(path))
    assert run.rc == 1, run.stderr
    raw = open(os.path.join(run.outdir, "results.json"), "rb").read()
    results = __import__("json").loads(raw.decode("utf-8"))   # strict: raises on bad bytes
    tail = [s for s in results["scenarios"] if s["name"] == "noisy"][0]["server"]["stderr_tail"]
    assert tail.endswith("é\ufffd\x01\n"), repr(tail[-10:])
    assert set(tail[:-3]) == {"é"}, "the tail starts on a character boundary"
    import xml.etree.ElementTree as ET
    ET.parse(os.path.join(run.outdir, "junit.xml"))
    open(os.path.join(run.outdir, "index.html"), "rb").read().decode("utf-8")


def test_a_marker_without_a_pid_is_never_swept(pipefault):
    # A marker being written (no pid yet) belongs to a live run.
    run_id = secrets.token_hex(3)
    marker = f"/var/lib/pipefault/runs/{run_id}"
    work = f"/tmp/pipefault-{run_id}-{secrets.token_hex(3)}"
    os.makedirs("/var/lib/pipefault/runs", exist_ok=True)
    open(marker, "w").close()
    os.mkdir(work, 0o755)
    try:
        proc = subprocess.run([pipefault, "clean"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert os.path.exists(marker), proc.stderr
        assert os.path.isdir(work), proc.stderr
    finally:
        os.unlink(marker)
        if os.path.isdir(work):
            os.rmdir(work)


def test_out_dir_writable_by_a_user_is_refused(pipefault, tmp_path, sentinel):
    # nobody owns the --out directory and planted symlinks to root's files.
    out = tmp_path / "out"
    out.mkdir()
    os.chown(out, NOBODY, NOBODY)
    target = sentinel / "precious"
    for name in ("results.json", ".results.json.tmp", "junit.xml", "index.html"):
        os.symlink(str(target), str(out / name))
    proc = subprocess.run([pipefault, "run", "--out", str(out), "scenarios/posix"],
                          capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 2, proc.stderr
    assert "refusing --out" in proc.stderr
    assert target.read_text() == "root's\n"


def test_out_creates_missing_parents(pipefault, tmp_path):
    out = tmp_path / "a" / "b" / "c"
    path = tmp_path / "x.yaml"
    path.write_text("""\
name: x
server:
  command: ["/bin/sh", "-c", "exit 7"]
  timeout: 10s
  ready_timeout: 5s
endpoint: {kind: unix, path: s.sock}
intended: {mode: "0660"}
accounts:
  - {name: alice, allowed: true}
clients:
  - {account: alice, attempts: 1, interval: 1ms}
expect: [intended_before_accept]
""")
    proc = subprocess.run([pipefault, "run", "--out", str(out), str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert (out / "results.json").is_file()


# ---- the store: files created relative to its fd, never through a link ----

SIMPLE = """\
name: {name}
server:
  command: ["/bin/sh", "-c", "exit 7"]
  timeout: 10s
  ready_timeout: 5s
endpoint: {{kind: unix, path: s.sock}}
intended: {{mode: "0660"}}
accounts:
  - {{name: alice, allowed: true}}
clients:
  - {{account: alice, attempts: 1, interval: 1ms}}
expect: [intended_before_accept]
"""


@pytest.fixture
def pub():
    """A root directory in /tmp that nobody can traverse (pytest's tmp_path
    is under a 0700 directory), removed afterwards."""
    d = f"/tmp/pf-hostile-{secrets.token_hex(4)}"
    os.mkdir(d, 0o755)
    os.chmod(d, 0o755)
    try:
        yield __import__("pathlib").Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def scenario(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(SIMPLE.format(name=name))
    return str(path)


def as_nobody(fn):
    """Runs fn() in a child process that is nobody."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def unchanged(sentinel):
    return (sorted(os.listdir(sentinel)) == ["precious"] and
            (sentinel / "precious").read_text() == "root's\n")


PLANTER = """\
import os, sys
out, precious, sentinel, planted = sys.argv[1:5]
for name in ("results.json", ".results.json.tmp", "index.html", "x"):
    os.symlink(precious if name != "x" else sentinel, os.path.join(out, name))
with open(os.path.join(out, "junit.xml"), "w") as f:
    f.write("nobody's\\n")
os.link(os.path.join(out, "junit.xml"), os.path.join(out, "junit.kept"))
if planted == "nobodys-dir":
    os.unlink(os.path.join(out, "x"))
    os.mkdir(os.path.join(out, "x"), 0o755)
    os.symlink(precious, os.path.join(out, "x", "trace.jsonl"))
    os.symlink(precious, os.path.join(out, "x", "server.stderr"))
sys.exit(7)
"""


def test_a_sticky_store_that_already_holds_names_is_refused(pipefault, tmp_path, sentinel, pub):
    # Names another account planted before the run: refused as not empty
    # (exit 2) before anything is written, and nothing there is touched.
    out = pub / "store"
    out.mkdir()
    os.chmod(out, 0o1777)
    as_nobody(lambda: os.symlink(str(sentinel / "precious"), str(out / "results.json")))
    proc = subprocess.run([pipefault, "run", "--out", str(out), scenario(tmp_path, "y")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "not empty" in proc.stderr
    assert unchanged(sentinel)
    assert os.listdir(out) == ["results.json"] and os.path.islink(out / "results.json")


@pytest.mark.parametrize("planted", ["symlink", "nobodys-dir"])
def test_names_planted_in_a_sticky_store_are_never_followed_or_truncated(
        pipefault, tmp_path, sentinel, planted, pub):
    # A store anyone may write into, sticky like /tmp: accepted, and whatever
    # nobody plants there while the run goes on is replaced or refused,
    # never written through. y's server, running as nobody, plants the names
    # (then exits 7) before scenario x and the run's files are written.
    out = pub / "store"
    out.mkdir()
    os.chmod(out, 0o1777)
    planter = pub / "planter.py"
    planter.write_text(PLANTER)
    os.chmod(planter, 0o644)
    y = tmp_path / "y.yaml"
    y.write_text(SIMPLE.format(name="y").replace(
        '  command: ["/bin/sh", "-c", "exit 7"]\n',
        f'  command: ["/usr/bin/python3", "{planter}", "{out}", "{sentinel / "precious"}", '
        f'"{sentinel}", "{planted}"]\n  user: nobody\n'))
    proc = subprocess.run([pipefault, "run", "--out", str(out), str(y), scenario(tmp_path, "x")],
                          capture_output=True, text=True, timeout=120)
    # x's folder is not ours: a harness error naming it, y was judged.
    assert proc.returncode == 3, proc.stderr
    assert unchanged(sentinel), proc.stderr
    assert (out / "junit.kept").read_text() == "nobody's\n"
    assert os.lstat(out / "junit.kept").st_uid == NOBODY
    for name in ("results.json", "junit.xml", "index.html"):
        st = os.lstat(out / name)
        assert stat.S_ISREG(st.st_mode) and st.st_uid == 0, name
    results = json.load(open(out / "results.json"))
    by_name = {s["name"]: s for s in results["scenarios"]}
    assert by_name["y"]["verdict"] == "error" and "exit" in by_name["y"]["reason"]
    assert by_name["x"]["verdict"] == "error"
    assert f"{out}/x" in by_name["x"]["reason"], by_name["x"]["reason"]
    assert os.lstat(out / "y" / "trace.jsonl").st_uid == 0
    import xml.etree.ElementTree as ET
    ET.parse(out / "junit.xml")


def test_default_store_in_a_users_out_dir_is_reached_only_through_its_fd(
        pipefault, tmp_path, sentinel, pub):
    # The working directory and its out/ belong to nobody, who swaps every new
    # run directory for a symlink to root's files as soon as it appears.
    cwd = pub / "work"
    cwd.mkdir()
    os.chown(cwd, NOBODY, NOBODY)
    (cwd / "out").mkdir(mode=0o777)
    os.chown(cwd / "out", NOBODY, NOBODY)
    os.symlink(str(sentinel), str(cwd / "out" / "latest"))
    path = scenario(tmp_path, "y")
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = str(cwd / "out")
            while True:
                for e in os.listdir(out):
                    p = os.path.join(out, e)
                    if e[0] != "." and e != "latest" and not e.startswith("moved-") and \
                            not os.path.islink(p):
                        try:
                            os.rename(p, os.path.join(out, "moved-" + e))
                            os.symlink(str(sentinel), p)
                        except OSError:
                            pass
        finally:
            os._exit(0)
    try:
        proc = subprocess.run([pipefault, "run", "--seed", "1", path], capture_output=True,
                              text=True, timeout=120, cwd=cwd)
    finally:
        stop(pid)
    assert unchanged(sentinel), proc.stderr
    # Either the directory was swapped before it was opened (refused, exit 3)
    # or the run wrote everything into the directory it made, wherever that
    # was moved to.
    assert proc.returncode in (1, 3), proc.stderr
    if proc.returncode == 1:
        moved = [e for e in os.listdir(cwd / "out") if e.startswith("moved-")]
        assert len(moved) == 1, os.listdir(cwd / "out")
        assert (cwd / "out" / moved[0] / "results.json").is_file()
        assert (cwd / "out" / moved[0] / "y" / "trace.jsonl").is_file()


@pytest.mark.parametrize("how", ["symlink", "others-writable"])
def test_out_through_a_symlink_or_a_users_directory_is_refused(pipefault, tmp_path, how):
    real = tmp_path / "real"
    real.mkdir()
    if how == "symlink":
        os.symlink(str(real), str(tmp_path / "via"))
    else:
        os.chown(real, NOBODY, NOBODY)
    parent = tmp_path / ("via" if how == "symlink" else "real")
    proc = subprocess.run([pipefault, "run", "--out", str(parent / "store"),
                           scenario(tmp_path, "y")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "refusing --out" in proc.stderr
    assert os.listdir(real) == []


def test_report_never_follows_links_planted_in_the_results_dir(run_pipefault, pipefault,
                                                               tmp_path, sentinel):
    run = run_pipefault(scenario(tmp_path, "y"))
    assert run.rc == 1, run.stderr
    secret = sentinel / "secret"
    secret.write_text("TOPSECRET\n")
    os.chmod(secret, 0o600)
    # A copy of the results that belongs to nobody, links planted in it.
    copy = tmp_path / "copy"
    shutil.copytree(run.outdir, copy)
    for root, dirs, files in os.walk(copy):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), NOBODY, NOBODY)
    os.chown(copy, NOBODY, NOBODY)
    os.unlink(copy / "y" / "trace.jsonl")
    os.symlink(str(secret), str(copy / "y" / "trace.jsonl"))
    os.unlink(copy / "index.html")
    os.symlink(str(sentinel / "precious"), str(copy / "index.html"))
    proc = subprocess.run([pipefault, "report", str(copy)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (sentinel / "precious").read_text() == "root's\n"
    assert not os.path.islink(copy / "index.html")
    page = (copy / "index.html").read_text()
    assert "TOPSECRET" not in page
    assert "a symlink is not followed" in page
    # results.json itself a link: not read at all.
    os.unlink(copy / "results.json")
    os.symlink(str(secret), str(copy / "results.json"))
    proc = subprocess.run([pipefault, "report", str(copy)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "TOPSECRET" not in proc.stderr


# ---- the sweep at the start of `run`, against a swapper ------------------

def test_swapped_symlinks_never_reach_root_files_through_the_sweep_of_run(
        pipefault, sentinel, tmp_path):
    run_id = secrets.token_hex(3)
    os.makedirs(MARKERS, exist_ok=True)
    path = scenario(tmp_path, "y")
    for i in range(10):
        top = f"/tmp/pipefault-{run_id}-{secrets.token_hex(3)}"
        a, b = plant(top, sentinel, 0)
        with open(os.path.join(MARKERS, run_id), "w") as f:
            f.write(f"{dead_pid()}\n")
        pid = swapper(a, b)
        try:
            proc = subprocess.run([pipefault, "run", "--out", str(tmp_path / f"o{i}"), path],
                                  capture_output=True, text=True, timeout=120)
        finally:
            stop(pid)
        assert proc.returncode == 1, proc.stderr
        assert (sentinel / "precious").exists(), proc.stderr
        assert not os.path.lexists(top), proc.stderr
    assert not os.path.exists(os.path.join(MARKERS, run_id))


# ---- accounts: a harness killed while a shadow tool runs -----------------

TWO_ACCOUNTS = """\
name: acc
server:
  command: ["/bin/sh", "-c", "exit 7"]
  timeout: 10s
  ready_timeout: 5s
endpoint: {kind: unix, path: s.sock}
intended: {mode: "0660", group: ops}
groups: [ops]
accounts:
  - {name: alice, groups: [ops], allowed: true}
  - {name: mallory, allowed: false}
clients:
  - {account: alice, attempts: 1, interval: 1ms}
  - {account: mallory, attempts: 1, interval: 1ms}
expect: [intended_before_accept]
"""


def run_names_in_account_files(rid):
    found = []
    for path in ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"):
        with open(path) as f:
            found += [f"{path}:{line.split(':')[0]}" for line in f
                      if line.startswith(f"pf{rid}_")]
    return found


def kill_during_useradd(pipefault, tmp_path):
    """Starts a run whose useradd of mallory stops until released, kills the
    harness with SIGKILL while it waits, then lets useradd finish (the worst
    case: the account appears after the harness is gone). Returns the run id."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    started = tmp_path / "started"
    os.mkfifo(started)
    (bin_dir / "useradd").write_text(f"""#!/bin/sh
case "$*" in *_mallory*) echo "$*" > {started}; read x < {gate};; esac
exec /usr/sbin/useradd "$@"
""")
    os.chmod(bin_dir / "useradd", 0o755)
    path = tmp_path / "acc.yaml"
    path.write_text(TWO_ACCOUNTS)
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin")
    proc = subprocess.Popen([pipefault, "run", "--out", str(tmp_path / "out"), str(path)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(started) as f:          # blocks until useradd of mallory runs
        args = f.read().split()
    proc.kill()
    proc.wait()
    rid = args[-1][2:8]               # pf<run>_mallory
    assert args[-1] == f"pf{rid}_mallory", args
    with open(gate, "w") as f:        # useradd goes on, with no harness
        f.write("go\n")
    # The released useradd (now the real one) finishing is what we wait for.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(
            f"pf{rid}_mallory" in n for n in run_names_in_account_files(rid)):
        time.sleep(0.05)
    assert f"/etc/passwd:pf{rid}_mallory" in run_names_in_account_files(rid)
    return rid


def test_killed_while_useradd_runs_then_clean_leaves_no_account(pipefault, tmp_path):
    rid = kill_during_useradd(pipefault, tmp_path)
    marker = open(os.path.join(MARKERS, rid)).read()
    # The marker named every account and group before any was created.
    for name in ("group ops", "user alice", "user mallory"):
        kind, n = name.split()
        assert f"{kind} pf{rid}_{n}\n" in marker, marker
    proc = subprocess.run([pipefault, "clean"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert run_names_in_account_files(rid) == [], proc.stderr
    assert not os.path.exists(os.path.join(MARKERS, rid))


def test_accounts_of_a_run_whose_marker_is_gone_are_found_by_their_tag(pipefault, tmp_path):
    rid = kill_during_useradd(pipefault, tmp_path)
    with open("/etc/passwd") as f:
        gecos = [line.split(":")[4] for line in f if line.startswith(f"pf{rid}_")]
    assert gecos and all(g.startswith(f"pipefault run {rid} pid ") for g in gecos), gecos
    os.unlink(os.path.join(MARKERS, rid))
    proc = subprocess.run([pipefault, "clean"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"run {rid} found by their tag" in proc.stderr
    assert run_names_in_account_files(rid) == [], proc.stderr


# ---- a verdict that cannot change with load -------------------------------

def test_not_allowed_account_refused_before_listen_is_inconclusive_never_pass(run_pipefault,
                                                                             tmp_path):
    # The buggy chmod-after-listen server, unsecured until after listen. Its
    # listen is held until mallory's only attempt is over (refused: nothing
    # listens yet), as a loaded machine may do by chance: the run never
    # showed whether mallory would be admitted, so it must not pass.
    path = tmp_path / "slow-listen.yaml"
    path.write_text("""\
name: slow-listen
server:
  fixture: chmod_after_listen
  umask: "000"
endpoint: {kind: unix, path: app.sock}
intended: {mode: "0660", group: ops}
groups: [ops]
accounts:
  - {name: alice, groups: [ops], allowed: true}
  - {name: mallory, allowed: false}
clients:
  - {account: mallory, attempts: 1, interval: 2ms}
  - {account: alice, attempts: 2, interval: 2ms, until: accepting}
faults:
  - {at: listen, when: "1", action: hold, until: {account: mallory, event: refused},
     timeout: 5s, required: true}
expect:
  - others_never_admitted
""")
    for seed in (1, 2, 3):
        run = run_pipefault(str(path), seed=seed)
        s = run.scenario("slow-listen")
        assert run.rc == 1, run.stderr
        assert s["verdict"] == "inconclusive", s
        exp = run.expectation("slow-listen", "others_never_admitted")
        assert exp["status"] == "vacuous" and exp["held"] is None, exp
        assert "mallory" in s["reason"] or "not-allowed" in s["reason"], s["reason"]


# ---- bad input `check` refuses before `run` would break on it -------------

CHECKED = """\
name: {name}
server:
  command: ["/bin/sh", "-c", "exit 7"]
  timeout: {timeout}
endpoint: {{kind: unix, path: s.sock}}
intended: {{mode: "0660"}}
accounts:
{accounts}
clients:
  - {{account: a0, attempts: 1}}
expect: [intended_before_accept]
"""


def checked(name="t", timeout="10s", accounts="  - {name: a0, allowed: true}"):
    return CHECKED.format(name=name, timeout=timeout, accounts=accounts)


@pytest.mark.parametrize("case,want", [
    # durations bounded (no overflow downstream)
    ("duration", ":4:12: duration '9223372036s' for 'timeout' is too long"),
    # what `run` could not do is refused by `check`
    ("accounts", ":40:5: more than 32 accounts"),
    ("store-name", ":1:7: scenario name 'results.json' is the name of a file in the run's store"),
    # the loader's bounds: nesting depth, aliases, a FIFO that would hang
    ("nesting", ":1:65: nested more than 64 levels deep"),
    ("alias-bomb", ":6:10: the scenario, with its aliases expanded, is larger than 4 MiB"),
    ("fifo", ": not a regular file"),
])
def test_check_refuses_what_run_or_the_loader_could_not_survive(pipefault, tmp_path, case,
                                                                 want):
    path = tmp_path / f"{case}.yaml"
    if case == "duration":
        path.write_text(checked(timeout="9223372036s"))
    elif case == "accounts":
        path.write_text(checked(accounts="\n".join(f"  - {{name: a{i}, allowed: true}}"
                                                    for i in range(33))))
    elif case == "store-name":
        path.write_text(checked(name="results.json"))
    elif case == "nesting":
        path.write_text("[" * 80000 + "]" * 80000)
    elif case == "alias-bomb":
        path.write_text('name: t\nendpoint: {kind: unix, path: s}\nexpect: [allowed_never_denied]'
                        '\nserver:\n  fixture: f\n  args: [&a "' + "x" * 262144 + '"' +
                        ", *a" * 150000 + "]\n")
    else:
        os.mkfifo(path)
    t0 = time.monotonic()
    proc = subprocess.run([pipefault, "check", str(path)], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert f"{path}{want}" in proc.stderr, proc.stderr
    assert time.monotonic() - t0 < 10
