"""The pytest plugin (pipefault.pytest_plugin): one test item per scenario
file, with pipefault's verdicts (pass -> passed, skipped -> skipped, fail /
inconclusive / error -> failed), pytest's own -k selection and junit XML,
and failures that show the expectations' plain-words details."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

SUITE = os.path.join(ROOT, "scenarios", "posix")
DRIVERS = os.path.dirname(os.path.abspath(__file__))
FAILED = {"fail", "inconclusive", "error"}


def run_plugin(pipefault, tmp_path, *args, cwd=ROOT, seed=1):
    junit = str(tmp_path / "junit.xml")
    cmd = [sys.executable, "-m", "pytest", "-p", "pipefault.pytest_plugin",
           "-p", "no:cacheprovider", "-q", "--pipefault-bin", pipefault,
           "--pipefault-out", str(tmp_path / "stores"),
           *(["--pipefault-seed", str(seed)] if seed is not None else []),
           f"--junitxml={junit}", *args]
    env = dict(os.environ, PYTHONPATH=DRIVERS)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=cwd, env=env)
    cases = {}
    if os.path.exists(junit):
        for tc in ET.parse(junit).getroot().iter("testcase"):
            kind = "passed"
            for child in tc:
                if child.tag in ("failure", "error", "skipped"):
                    kind = child.tag
                    cases[tc.get("name")] = (kind, child.get("message", "") + (child.text or ""))
                    break
            else:
                cases[tc.get("name")] = (kind, "")
    return proc, cases


def expected_outcome(verdict):
    return "failure" if verdict in FAILED else "skipped" if verdict == "skipped" else "passed"


@pytest.fixture(scope="module")
def cli(pipefault, tmp_path_factory):
    """`pipefault run` on the whole suite: the verdicts to agree with."""
    out = str(tmp_path_factory.mktemp("cli") / "out")
    subprocess.run([pipefault, "run", "--out", out, "--seed", "1", SUITE],
                   capture_output=True, timeout=900, cwd=ROOT)
    res = json.load(open(os.path.join(out, "results.json")))
    return {s["name"]: s for s in res["scenarios"]}


def test_one_item_per_scenario_with_the_cli_verdicts(pipefault, cli, tmp_path):
    proc, cases = run_plugin(pipefault, tmp_path, "scenarios/posix")
    assert set(cases) == set(cli), proc.stdout
    for name, s in cli.items():
        assert cases[name][0] == expected_outcome(s["verdict"]), (name, s["verdict"], cases[name])
    assert any(s["verdict"] == "fail" for s in cli.values())
    assert proc.returncode == 1   # pytest: some tests failed


def test_failures_show_the_plain_words_details(pipefault, cli, tmp_path):
    proc, cases = run_plugin(pipefault, tmp_path, "scenarios/posix")
    failed = [n for n, s in cli.items() if s["verdict"] == "fail"]
    assert failed
    for name in failed:
        # The item's own run (its store), whose details name its instances,
        # times and accounts.
        store = tmp_path / "stores" / name
        s = json.load(open(store / "results.json"))["scenarios"][0]
        text = cases[name][1]
        assert s["reason"] in text, text
        for e in s["expectations"]:
            if e["held"] is False:
                assert f"{e['id']} failed: {e.get('detail') or e['reason']}" in text, text
        assert str(store / "index.html") in text


def test_xdist_workers_give_the_same_verdicts(pipefault, cli, tmp_path):
    pytest.importorskip("xdist", reason="python3-pytest-xdist is not installed")
    # No --pipefault-seed: the controller draws one and hands it to both workers.
    proc, cases = run_plugin(pipefault, tmp_path, "scenarios/posix", "-n", "2", seed=None)
    assert set(cases) == set(cli), proc.stdout + proc.stderr
    for name, s in cli.items():
        assert cases[name][0] == expected_outcome(s["verdict"]), (name, cases[name])
    seeds = {json.load(open(tmp_path / "stores" / n / "results.json"))["run"]["seed"]
             for n in cli}
    assert len(seeds) == 1, seeds


def test_k_selects_by_scenario_name(pipefault, cli, tmp_path):
    proc, cases = run_plugin(pipefault, tmp_path, "scenarios/posix", "-k", "chmod")
    wanted = {n for n in cli if "chmod" in n}
    assert wanted and set(cases) == wanted, proc.stdout
    for name in wanted:
        assert cases[name][0] == expected_outcome(cli[name]["verdict"])


def test_other_yaml_is_not_collected_and_bad_scenarios_fail_with_the_error(pipefault,
                                                                          tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "ci.yaml").write_text("stages: [build]\nname: not-a-scenario\n")
    (suite / "broken.yaml").write_text(
        "name: broken\nserver: {fixture: chmod_after_listen}\n"
        "endpoint: {kind: unix, path: s}\nexpect: [no_such_expectation]\n")
    proc, cases = run_plugin(pipefault, tmp_path, str(suite), cwd=str(tmp_path))
    assert set(cases) == {"broken"}, proc.stdout
    kind, text = cases["broken"]
    assert kind == "failure"
    assert "broken.yaml:4:" in text and "no_such_expectation" in text, text
