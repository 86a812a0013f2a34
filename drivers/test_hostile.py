"""A root harness beside hostile users: an unprivileged process swapping
directories for symlinks (renameat2 RENAME_EXCHANGE) while `pipefault clean`
sweeps what killed runs left must never make root delete anything outside
those leftovers."""
import ctypes
import os
import secrets
import shutil
import subprocess

import pytest

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
        with open(os.path.join(marker_dir, run_id), "w") as f:
            f.write(f"{dead_pid()}\n")
        a, b = plant(top, sentinel, 0)
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


def test_a_wine_prefix_planted_by_a_user_is_left_alone(pipefault, sentinel):
    for _ in range(ROUNDS):
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
            # Not ours: not touched at all.
            assert os.path.isdir(top), proc.stderr
            assert "left alone" in proc.stderr
        finally:
            shutil.rmtree(top, ignore_errors=True)


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
