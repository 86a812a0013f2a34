"""Splitting a run across CI runners and running scenarios side by side.

Shards 1/3, 2/3 and 3/3 of the two bundled suites, merged, must give what one
whole run gives (same scenarios, same verdicts, same junit test count);
--select and --list choose by name; merge refuses a scenario found in two
stores; --jobs 2 gives the verdicts of a serial run with the same seed and
leaves nothing behind; the cached Wine prefix is rebuilt when damaged and
removed by `clean --cache`, and two cold runs building it at once both
succeed and leave one valid entry.
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

SUITES = [os.path.join(ROOT, "scenarios", "posix"), os.path.join(ROOT, "scenarios", "seed")]
NPIPE = os.path.join(ROOT, "scenarios", "seed", "npipe-close-before-create.yaml")
SEED = 7


def pf(pipefault, *args, env=None, timeout=900):
    return subprocess.run([pipefault, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env)


def verdicts(store):
    with open(os.path.join(store, "results.json")) as f:
        return {s["name"]: s["verdict"] for s in json.load(f)["scenarios"]}


def junit_cases(store):
    root = ET.parse(os.path.join(store, "junit.xml")).getroot()
    return sorted(c.get("name") for c in root.iter("testcase"))


def listed(pipefault, *args):
    p = pf(pipefault, "run", "--list", *args)
    assert p.returncode == 0, p.stderr
    return p.stdout.split()


@pytest.fixture(scope="module")
def stores(pipefault, tmp_path_factory):
    """One whole serial run, its three shards, and a --jobs 2 run, same seed."""
    base = tmp_path_factory.mktemp("shard")
    out = {}
    runs = {"whole": [], "jobs": ["--jobs", "2"]}
    runs.update({f"shard{i}": ["--shard", f"{i}/3"] for i in (1, 2, 3)})
    for key, extra in runs.items():
        out[key] = str(base / key)
        p = pf(pipefault, "run", "--seed", str(SEED), "--out", out[key], *extra, *SUITES)
        assert p.returncode in (0, 1), f"{key}: exit {p.returncode}\n{p.stderr}"
        out[key + "_stderr"] = p.stderr
        out[key + "_rc"] = p.returncode
    out["base"] = str(base)
    return out


def test_list_and_select_choose_by_name(pipefault):
    everything = listed(pipefault, *SUITES)
    assert len(everything) == len(set(everything)) > 10
    chosen = listed(pipefault, "--select", "chmod-*", "--select", "umask-bind", *SUITES)
    assert chosen == [n for n in everything if n.startswith("chmod-") or n == "umask-bind"]
    p = pf(pipefault, "run", "--list", "--select", "no-such-*", *SUITES)
    assert p.returncode == 2 and "no-such-*" in p.stderr


def test_shards_are_disjoint_stable_and_whole(pipefault):
    everything = listed(pipefault, *SUITES)
    parts = [listed(pipefault, "--shard", f"{i}/3", *SUITES) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(everything)
    assert all(parts), "a part is empty"
    # The same names given in another order: the same parts.
    again = [listed(pipefault, "--shard", f"{i}/3", *reversed(SUITES)) for i in (1, 2, 3)]
    assert [sorted(p) for p in again] == [sorted(p) for p in parts]


@pytest.mark.parametrize("bad", ["0/3", "4/3", "x", "1/0", "2"])
def test_bad_shard_is_bad_input(pipefault, bad):
    p = pf(pipefault, "run", "--list", "--shard", bad, *SUITES)
    assert p.returncode == 2
    assert f"'{bad}'" in p.stderr or f"--shard {bad}" in p.stderr
    assert p.stdout == ""


def test_durations_balance_by_a_previous_store(pipefault, stores):
    names = listed(pipefault, *SUITES)
    parts = [listed(pipefault, "--shard", f"{i}/2", "--durations", stores["whole"], *SUITES)
             for i in (1, 2)]
    assert sorted(parts[0] + parts[1]) == sorted(names)
    with open(os.path.join(stores["whole"], "results.json")) as f:
        ms = {s["name"]: s["duration_ms"] for s in json.load(f)["scenarios"]}
    load = [sum(ms[n] for n in p) for p in parts]
    # Longest first onto the lighter part: the parts differ by at most the
    # longest scenario.
    assert abs(load[0] - load[1]) <= max(ms.values())
    p = pf(pipefault, "run", "--list", "--shard", "1/2", "--durations",
           os.path.join(stores["base"], "nowhere"), *SUITES)
    assert p.returncode == 2 and "nowhere" in p.stderr


def test_merged_shards_equal_the_whole_run(pipefault, stores, tmp_path):
    merged = str(tmp_path / "merged")
    p = pf(pipefault, "merge", merged, *(stores[f"shard{i}"] for i in (1, 2, 3)))
    whole = verdicts(stores["whole"])
    assert verdicts(merged) == whole
    assert junit_cases(merged) == junit_cases(stores["whole"])
    assert p.returncode == stores["whole_rc"], p.stderr
    with open(os.path.join(merged, "results.json")) as f:
        r = json.load(f)
    assert r["run"]["complete"] is True and len(r["run"]["merged_from"]) == 3
    assert sum(v for k, v in r["summary"].items() if k != "not_run") == len(whole)
    # Every scenario's folder came along, so the report has its trace.
    for name in whole:
        assert os.path.getsize(os.path.join(merged, name, "trace.jsonl")) > 0
    html = open(os.path.join(merged, "index.html"), encoding="utf-8").read()
    assert all(name in html for name in whole)


def test_merge_refuses_a_scenario_in_two_stores(pipefault, stores, tmp_path):
    out = str(tmp_path / "dup")
    p = pf(pipefault, "merge", out, stores["shard1"], stores["whole"])
    assert p.returncode == 2
    assert stores["shard1"] in p.stderr and stores["whole"] in p.stderr
    assert not os.path.exists(os.path.join(out, "results.json"))
    p = pf(pipefault, "merge", out, os.path.join(stores["base"], "nowhere"))
    assert p.returncode == 2 and "nowhere" in p.stderr


def test_jobs_gives_the_serial_verdicts(stores):
    assert verdicts(stores["jobs"]) == verdicts(stores["whole"])
    assert junit_cases(stores["jobs"]) == junit_cases(stores["whole"])
    # Console lines are whole lines, one per scenario.
    lines = [l for l in stores["jobs_stderr"].splitlines() if re.match(r"\[\d+/\d+\] ", l)]
    assert len(lines) == len(verdicts(stores["whole"]))


def test_jobs_leaves_nothing_behind(stores):
    with open(os.path.join(stores["jobs"], "results.json")) as f:
        r = json.load(f)
    users = set()
    for s in r["scenarios"]:
        with open(os.path.join(stores["jobs"], s["trace"])) as f:
            events = [json.loads(line) for line in f if line.strip()]
        users |= {e["user"] for e in events if e.get("ev") == "account" and e.get("user")
                  and e["user"].startswith("pf")}
    ids = {u[2:8] for u in users}
    assert len(ids) >= 2, f"the workers should have run ids of their own: {users}"
    with open("/etc/passwd") as f:
        present = {line.split(":", 1)[0] for line in f}
    assert not users & present
    for i in ids:
        assert not os.path.exists(f"/var/lib/pipefault/runs/{i}")
        assert not [e for e in os.listdir("/tmp") if e.startswith(f"pipefault-{i}-")]


def wine_ready(pipefault):
    d = os.path.join(os.path.dirname(os.path.dirname(pipefault)), "win32")
    if not shutil.which("wine") or not os.path.exists(os.path.join(d, "pfagent.dll")):
        pytest.skip("Wine or the Win32 parts are not available")


def test_damaged_cache_is_rebuilt_and_clean_removes_it(pipefault, tmp_path):
    wine_ready(pipefault)
    cache = tmp_path / "cache"
    env = dict(os.environ, PIPEFAULT_CACHE_DIR=str(cache))

    def run(tag):
        out = str(tmp_path / tag)
        p = pf(pipefault, "run", "--seed", "1", "--out", out, NPIPE, env=env)
        assert p.returncode in (0, 1), p.stderr
        return p, verdicts(out)

    cold, v_cold = run("cold")
    assert "building the prefix cache" in cold.stderr and "cache built first" in cold.stderr
    (entry,) = [e for e in cache.iterdir() if e.name.startswith("wine-")]
    assert (cache.stat().st_mode & 0o777) == 0o700
    warm, v_warm = run("warm")
    assert "copied from the cache" in warm.stderr and "building" not in warm.stderr
    assert v_warm == v_cold

    # The registry changed in place, its size and mtime put back: only the
    # content check can see it.
    reg = entry / "prefix" / "system.reg"
    st = reg.stat()
    with open(reg, "r+b") as f:
        f.seek(st.st_size // 2)
        b = f.read(1)
        f.seek(st.st_size // 2)
        f.write(bytes([b[0] ^ 0x20]))
    os.utime(reg, ns=(st.st_atime_ns, st.st_mtime_ns))
    damaged, v_damaged = run("damaged")
    assert "is stale" in damaged.stderr and "system.reg" in damaged.stderr
    assert v_damaged == v_cold

    # A truncated stamp.
    stamp = entry / "stamp"
    data = stamp.read_bytes()
    stamp.write_bytes(data[: len(data) // 2])
    trunc, v_trunc = run("truncated")
    assert "is stale" in trunc.stderr and v_trunc == v_cold

    p = pf(pipefault, "clean", "--cache", env=env)
    assert p.returncode == 0, p.stderr
    assert not [e for e in cache.iterdir() if e.name.startswith("wine-")]


def blocked_on(path):
    """How many flock requests wait on the file `path` (/proc/locks marks a
    waiting request with "->" and names the file by device and inode)."""
    ino = os.stat(path).st_ino
    with open("/proc/locks") as f:
        return sum(1 for line in f if " -> FLOCK " in line and line.split()[6].endswith(f":{ino}"))


def test_two_cold_runs_build_the_cache_at_once(pipefault, tmp_path):
    """Both runs find the cache empty at the same time: the test holds the
    cache's lock (cache/.lock, as pipefault opens it) until both wait on it,
    so neither can have seen an entry the other built. One builds, the other
    waits and copies; both get a warm run's verdicts, and the cache ends
    with the lock and one valid entry, no build directory left."""
    wine_ready(pipefault)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    env = dict(os.environ, PIPEFAULT_CACHE_DIR=str(cache))
    lock = os.open(cache / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    procs = {}
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for tag in ("a", "b"):
            procs[tag] = subprocess.Popen(
                [pipefault, "run", "--seed", "1", "--out", str(tmp_path / tag), NPIPE],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while blocked_on(cache / ".lock") < 2:
            assert time.monotonic() < deadline, "the runs never waited on the cache's lock"
            assert all(p.poll() is None for p in procs.values()), "a run ended before the cache"
            time.sleep(0.05)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)
    errs = {}
    for tag, p in procs.items():
        _, errs[tag] = p.communicate(timeout=900)
        assert p.returncode in (0, 1), f"{tag}: exit {p.returncode}\n{errs[tag]}"
    built = [t for t, e in errs.items() if "building the prefix cache" in e]
    assert len(built) == 1, errs
    assert "cache built first" in errs[built[0]]
    (other,) = set(errs) - set(built)
    assert "copied from the cache" in errs[other] and "stale" not in errs[other], errs[other]

    warm = pf(pipefault, "run", "--seed", "1", "--out", str(tmp_path / "warm"), NPIPE, env=env)
    assert warm.returncode in (0, 1), warm.stderr
    assert "copied from the cache" in warm.stderr and "building" not in warm.stderr
    assert re.search(r"started in [0-9.]+ s", warm.stderr), warm.stderr
    assert verdicts(str(tmp_path / "a")) == verdicts(str(tmp_path / "warm"))
    assert verdicts(str(tmp_path / "b")) == verdicts(str(tmp_path / "warm"))
    left = sorted(e.name for e in cache.iterdir())
    assert len(left) == 2 and left[0] == ".lock" and left[1].startswith("wine-"), left


def test_unsafe_cache_directory_is_refused(pipefault, tmp_path):
    wine_ready(pipefault)
    cache = tmp_path / "open"
    cache.mkdir()
    os.chmod(cache, 0o777)
    env = dict(os.environ, PIPEFAULT_CACHE_DIR=str(cache))
    out = str(tmp_path / "o")
    p = pf(pipefault, "run", "--seed", "1", "--out", out, NPIPE, env=env)
    assert p.returncode in (0, 1), p.stderr
    assert "refusing the cache directory" in p.stderr
    assert "created without the cache" in p.stderr
    assert os.listdir(cache) == []
