"""Shared pytest fixtures: the pipefault binary and a helper to run it.

The driver tests run the real CLI on real scenario files and assert on what
it writes (results.json, junit.xml, traces) and on what it leaves behind on
the machine (nothing).
"""
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With PF_REQUIRE_ALL=1 (CI, where every package is installed), a test
    skipped for a missing tool fails instead of passing quietly."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("PF_REQUIRE_ALL") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but PF_REQUIRE_ALL=1: {report.longrepr}"


def pytest_addoption(parser):
    parser.addoption("--pipefault", action="store", default=os.environ.get("PIPEFAULT"),
                     help="path of the pipefault binary under test")


@pytest.fixture(scope="session")
def pipefault(request):
    path = request.config.getoption("--pipefault")
    if not path:
        candidate = os.path.join(ROOT, "build", "harness", "pipefault")
        path = candidate if os.path.exists(candidate) else None
    if not path or not os.access(path, os.X_OK):
        pytest.fail("no pipefault binary: pass --pipefault PATH (or build into build/)")
    return os.path.abspath(path)


class Run:
    """One finished `pipefault run`: exit code, output and parsed results."""

    def __init__(self, proc, outdir):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.outdir = outdir
        path = os.path.join(outdir, "results.json")
        self.results = json.load(open(path)) if os.path.exists(path) else None

    def scenario(self, name):
        for s in self.results["scenarios"]:
            if s["name"] == name:
                return s
        raise KeyError(f"{name} not in results; have {[s['name'] for s in self.results['scenarios']]}")

    def expectation(self, name, exp_id):
        for e in self.scenario(name)["expectations"]:
            if e["id"] == exp_id:
                return e
        raise KeyError(exp_id)

    def trace(self, name):
        with open(os.path.join(self.outdir, self.scenario(name)["trace"])) as f:
            return [json.loads(line) for line in f if line.strip()]


@pytest.fixture
def run_pipefault(pipefault, tmp_path):
    """run_pipefault(*paths, seed=1) -> Run, with --out in a fresh tmp dir."""
    counter = [0]

    def run(*paths, seed=1, timeout=600, extra=()):
        counter[0] += 1
        out = str(tmp_path / f"out{counter[0]}")
        cmd = [pipefault, "run", "--out", out, "--seed", str(seed), *extra, *paths]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        return Run(proc, out)

    return run


def leftovers(run_id=None):
    """Accounts, groups, work dirs and run markers the harness left behind."""
    found = []
    prefix = f"pf{run_id}_" if run_id else "pf"
    for db in ("/etc/passwd", "/etc/group"):
        with open(db) as f:
            for line in f:
                name = line.split(":", 1)[0]
                if name.startswith(prefix) and len(name) > 9 and name[8] == "_":
                    found.append(f"{db}: {name}")
    for entry in os.listdir("/tmp"):
        if entry.startswith(f"pipefault-{run_id}-" if run_id else "pipefault-"):
            found.append(f"/tmp/{entry}")
    marker_dir = "/var/lib/pipefault/runs"
    if os.path.isdir(marker_dir):
        for entry in os.listdir(marker_dir):
            if run_id is None or entry == run_id:
                found.append(f"{marker_dir}/{entry}")
    return found


def process_groups():
    """(pid, process group, real uid) of every process alive now."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        yield int(entry), int(fields[2]), uid


def processes_of_run(endpoint_fragment):
    """Processes whose command line mentions the run's endpoint."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if endpoint_fragment in cmd:
            out.append(f"{pid}: {cmd}")
    return out
