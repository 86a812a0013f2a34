"""pipefault explore on real fixtures: it finds the window of a buggy server
nobody wrote a fault for, shrinks it to a reproducer that `pipefault run`
fails every time, finds nothing on a correct server within a stated bound,
and leaves a partial record (and nothing else) when interrupted.

Kept short on purpose: one buggy and one correct fixture with small budgets;
the whole scenarios/explore suite is measured by bench/explore.sh.
"""
import glob
import json
import os
import re
import signal
import subprocess
import time

from conftest import ROOT, leftovers, processes_of_run

EXPLORE = os.path.join(ROOT, "scenarios", "explore")


def explore(pipefault, out, *paths, budget=20, seed=1, timeout=900, extra=()):
    cmd = [pipefault, "explore", "--out", str(out), "--seed", str(seed), "--budget",
           str(budget), *extra, *paths]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    path = os.path.join(out, "explore.json")
    doc = json.load(open(path)) if os.path.exists(path) else None
    return proc, doc


def failed_ids(results):
    return sorted(e["id"] for e in results["scenarios"][0]["expectations"]
                  if e["status"] == "failed")


def test_finds_shrinks_and_the_reproducer_fails_every_time(pipefault, tmp_path):
    out = tmp_path / "x"
    proc, doc = explore(pipefault, out, os.path.join(EXPLORE, "chmod-after-listen.yaml"))
    assert proc.returncode == 1, proc.stderr
    assert "trial 1 of 20" in proc.stderr or "fails as written" in proc.stderr
    assert doc["run"]["complete"] is True
    scn = doc["scenarios"][0]
    assert scn["status"] == "found", proc.stderr
    finding = [f for f in scn["findings"] if f["status"] == "confirmed"][0]
    assert finding["replays"] == {"runs": 10, "failed_same": 10}
    # Shrunk: never more than the trial had; alice, whose refusal is the
    # failure, stays. (How much more goes depends on runs of a racy server:
    # ddmin and bisection themselves are pinned down by the unit tests.)
    assert finding["failed_expectations"] == ["allowed_never_denied"]
    assert finding["shrink"]["to"]["clients"] <= finding["found_with"]["clients"]
    clients = {c["account"]: c["attempts"] for c in finding["clients"]}
    assert "alice" in clients and clients["alice"] <= 10
    assert len(finding["faults"]) <= finding["found_with"]["faults"]
    assert finding["shrink"]["runs"] > 0
    assert finding["window"]["text"]
    # No trial that ended in error, timeout or inconclusive became a finding.
    for t in scn["trials"]:
        if t["verdict"] != "fail":
            assert t["failed"] == ""
    # The reproducer is an ordinary scenario: `pipefault run` fails it the
    # same way, run after run.
    repro = os.path.join(out, finding["reproducer"])
    for i in range(3):
        r = subprocess.run([pipefault, "run", "--out", str(tmp_path / f"r{i}"), "--seed",
                            str(100 + i), repro], capture_output=True, text=True, cwd=ROOT,
                           timeout=120)
        assert r.returncode == 1, r.stderr
        results = json.load(open(tmp_path / f"r{i}" / "results.json"))
        assert results["scenarios"][0]["verdict"] == "fail"
        assert failed_ids(results) == finding["failed_expectations"]
    assert os.path.exists(os.path.join(out, "explore.html"))
    assert leftovers(doc["run"]["id"]) == []


def test_correct_server_budget_spent_exit_0_with_the_bound(pipefault, tmp_path):
    out = tmp_path / "x"
    proc, doc = explore(pipefault, out, os.path.join(EXPLORE, "umask-bind.yaml"), budget=6)
    assert proc.returncode == 0, proc.stderr
    scn = doc["scenarios"][0]
    assert scn["status"] == "none"
    assert scn["findings"] == []
    assert len(scn["trials"]) == 6
    assert all(t["verdict"] != "fail" for t in scn["trials"])
    st = scn["strategy"]
    assert st["systematic_tried"] == 6 and st["systematic"] > 6
    # The bound says what was and was not covered.
    assert "6 of %d single-point perturbations tried" % st["systematic"] in st["bound"]
    assert "nothing found: 6 of" in proc.stderr
    assert leftovers(doc["run"]["id"]) == []


def test_ctrl_c_leaves_a_partial_record_and_nothing_else(pipefault, tmp_path):
    out = tmp_path / "x"
    proc = subprocess.Popen([pipefault, "explore", "--out", str(out), "--seed", "2",
                             "--budget", "200", os.path.join(EXPLORE, "chmod-before-listen.yaml")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    record = out / "explore.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if record.exists():
            try:
                doc = json.loads(record.read_text())
            except ValueError:
                doc = None   # never: it is replaced atomically
                raise
            if doc["scenarios"] and len(doc["scenarios"][0].get("trials", [])) >= 1:
                break
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("no trial was recorded")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "interrupted" in err
    doc = json.loads(record.read_text())
    assert doc["run"]["complete"] is False
    assert doc["scenarios"][0]["status"] == "interrupted"
    rid = doc["run"]["id"]
    assert leftovers(rid) == []
    assert processes_of_run(f"pipefault-{rid}") == []


def test_bad_input(pipefault, tmp_path):
    path = os.path.join(EXPLORE, "umask-bind.yaml")
    for args, words in ((["--jobs", "0", path], "--jobs takes"),
                        (["--jobs", "65", path], "--jobs takes"),
                        (["--budget", "x", path], "--budget takes"),
                        ([str(tmp_path / "missing.yaml")], "missing.yaml"),
                        ([], "no scenario")):
        p = subprocess.run([pipefault, "explore", "--out", str(tmp_path / "o"), *args],
                           capture_output=True, text=True, cwd=ROOT)
        assert p.returncode == 2, (args, p.stderr)
        assert words in p.stderr


def run_ids(out):
    """The run ids of every run in an explore store (--jobs workers have
    their own): the prefix of the account names in the traces."""
    ids = set()
    for trace in glob.glob(os.path.join(out, "trials", "*", "*", "*", "trace.jsonl")):
        ids.update(re.findall(r'"pf([0-9a-f]{6})_', open(trace).read()))
    return ids


def record(scn):
    return [(t["n"], t["strategy"], t["faults"], t["verdict"], t["failed"], t["dir"])
            for t in scn["trials"]]


def test_jobs_gives_the_serial_record(pipefault, tmp_path):
    path = os.path.join(EXPLORE, "umask-bind.yaml")
    _, serial = explore(pipefault, tmp_path / "j1", path, budget=6, seed=4)
    proc, doc = explore(pipefault, tmp_path / "j2", path, budget=6, seed=4,
                        extra=("--jobs", "2"))
    assert proc.returncode == 0, proc.stderr
    scn = doc["scenarios"][0]
    assert scn["status"] == "none"
    # Same trials, in candidate order, whichever worker ended first.
    assert record(scn) == record(serial["scenarios"][0])
    assert [t["n"] for t in scn["trials"]] == list(range(1, 7))
    lines = [l for l in proc.stderr.splitlines() if "[trial " in l]
    assert [l.split("]")[0] for l in lines] == ["  [trial %d of 6" % n for n in range(1, 7)]
    assert scn["strategy"]["systematic_tried"] == 6
    ids = run_ids(tmp_path / "j2")
    assert len(ids) >= 2   # the baseline's and at least one worker's
    for rid in ids | {doc["run"]["id"]}:
        assert leftovers(rid) == []


def test_jobs_finding_is_the_first_by_trial_number(pipefault, tmp_path):
    out = tmp_path / "x"
    proc, doc = explore(pipefault, out, os.path.join(EXPLORE, "chmod-after-listen.yaml"),
                        extra=("--jobs", "2"))
    assert proc.returncode == 1, proc.stderr
    scn = doc["scenarios"][0]
    assert scn["status"] == "found", proc.stderr
    first = scn["first_finding_trial"]
    # Recorded up to the finding, without a gap; the trials that ran beside
    # it are not in the record, nor in the store.
    assert [t["n"] for t in scn["trials"]] == list(range(1, first + 1))
    kept = {t["dir"].rsplit("/", 1)[1] for t in scn["trials"]}
    on_disk = {d for d in os.listdir(out / "trials" / scn["name"]) if re.fullmatch(r"t\d{4}", d)}
    assert on_disk == kept
    finding = [f for f in scn["findings"] if f["status"] == "confirmed"][0]
    assert finding["replays"] == {"runs": 10, "failed_same": 10}
    for rid in run_ids(out) | {doc["run"]["id"]}:
        assert leftovers(rid) == []
