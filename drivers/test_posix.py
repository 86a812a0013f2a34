"""The posix suite, run through the CLI: buggy fixtures fail for the right
reason, correct ones pass, on every run, and nothing is left behind."""
import os
import signal
import subprocess
import time

import pytest

from conftest import ROOT, leftovers, processes_of_run

SUITE = os.path.join(ROOT, "scenarios", "posix")

# scenario -> the expectations that must fail (exactly these); empty: must pass
EXPECTED_FAILURES = {
    "abstract": {"birth_intended", "others_never_admitted"},
    "chmod-after-listen": {"intended_before_accept", "allowed_never_denied"},
    "chmod-after-listen-admits-mallory": {"intended_before_accept", "others_never_admitted"},
    "chmod-before-listen": set(),
    "fifo-chmod": {"birth_intended", "intended_before_accept"},
    "recreate-on-error": {"intended_before_accept", "allowed_never_denied"},
    "rename-into-place": {"intended_before_accept", "others_never_admitted"},
    "rename-into-place-secured": set(),
    "service-group": set(),
    "service-group-default": {"no_default_instance"},
    "umask-bind": set(),
}


def failing(run, name):
    return {e["id"] for e in run.scenario(name)["expectations"] if e["held"] is False}


def assert_suite_verdicts(run):
    assert run.rc == 1, run.stderr
    names = {s["name"] for s in run.results["scenarios"]}
    assert names == set(EXPECTED_FAILURES), names
    for name, want in EXPECTED_FAILURES.items():
        s = run.scenario(name)
        assert s["verdict"] == ("fail" if want else "pass"), (name, s["reason"], s["expectations"])
        assert failing(run, name) == want, (name, s["expectations"])
        for e in s["expectations"]:
            assert e["held"] is not None, (name, e)


@pytest.fixture(scope="module")
def suite_run(pipefault, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("posix") / "out")
    proc = subprocess.run([pipefault, "run", "--out", out, "--seed", "7", SUITE],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    from conftest import Run
    return Run(proc, out)


def test_suite_buggy_fail_correct_pass(suite_run):
    assert_suite_verdicts(suite_run)


def test_chmod_after_listen_window_is_seen_exactly(suite_run):
    s = suite_run.scenario("chmod-after-listen")
    inst = s["instances"][0]
    assert inst["birth_class"] == "default"
    assert inst["birth"]["mode"] == "0755"
    assert inst["class_at_first_accept"] == "default"
    assert inst["accepting_evidence"] == "listen"
    assert inst["history"][-1]["class"] == "intended"
    detail = suite_run.expectation("chmod-after-listen", "intended_before_accept")["detail"]
    assert "instance #1 started accepting (listen" in detail
    assert "default permissions (0755" in detail
    denied = suite_run.expectation("chmod-after-listen", "allowed_never_denied")["detail"]
    assert "alice (allowed) was refused" in denied and "EACCES" in denied
    fired = {f["at"]: f["fired"] for f in s["faults"]}
    assert fired == {"secure": 1}


def test_chmod_before_listen_secured_before_accepting(suite_run):
    inst = suite_run.scenario("chmod-before-listen")["instances"][0]
    assert inst["birth_class"] == "default"          # bind creates it with the umask's mode
    assert inst["class_at_first_accept"] == "intended"
    clients = {c["account"]: c for c in suite_run.scenario("chmod-before-listen")["clients"]}
    assert clients["alice"]["outcomes"].get("ok", 0) >= 1
    assert clients["mallory"]["outcomes"].get("ok", 0) == 0
    assert clients["alice"]["served"] == clients["alice"]["outcomes"]["ok"]


def test_umask_bind_never_default(suite_run):
    inst = suite_run.scenario("umask-bind")["instances"][0]
    assert inst["birth"]["mode"] == "0660"
    assert inst["birth_class"] != "default"
    assert inst["class_at_first_accept"] == "intended"


def test_recreate_second_instance_is_default(suite_run):
    s = suite_run.scenario("recreate-on-error")
    assert len(s["instances"]) >= 2
    first, second = s["instances"][0], s["instances"][1]
    assert first["class_at_first_accept"] == "intended"
    assert first["removed_ns"] is not None
    assert second["birth_class"] == "default"
    assert second["class_at_first_accept"] == "default"
    assert "instance #2" in suite_run.expectation("recreate-on-error", "intended_before_accept")["detail"]
    assert "instance #1" not in suite_run.expectation("recreate-on-error", "intended_before_accept")["detail"]


def test_fifo_born_default(suite_run):
    inst = suite_run.scenario("fifo-chmod")["instances"][0]
    assert inst["birth"]["mode"] == "0644"
    assert inst["birth_class"] == "default"
    assert inst["class_at_first_accept"] == "default"
    assert inst["accepting_evidence"] == "open-for-read"
    assert inst["history"][-1]["class"] == "intended"


def test_abstract_has_no_permissions(suite_run):
    s = suite_run.scenario("abstract")
    inst = s["instances"][0]
    assert inst["birth"] == {"none": True}
    assert inst["birth_class"] == "other"
    assert s_admitted(s, "mallory") >= 1
    assert_admitted_only_by_evidence(s)


def test_mallory_admitted_in_window(suite_run):
    s = suite_run.scenario("chmod-after-listen-admits-mallory")
    inst = s["instances"][0]
    assert inst["birth"]["mode"] == "0777"
    assert s_admitted(s, "mallory") >= 1
    assert_admitted_only_by_evidence(s)
    detail = suite_run.expectation("chmod-after-listen-admits-mallory", "others_never_admitted")["detail"]
    assert "mallory (not allowed) was admitted" in detail
    # The instance is named only when evidence says which one admitted him.
    first = next(a for a in s["attempts"] if a["account"] == "mallory" and a["outcome"] == "ok")
    if first["attribution"] == "unknown":
        assert "by an instance pipefault cannot name" in detail
    else:
        assert "default permissions (0777" in detail


def s_admitted(s, account):
    """How often the account was admitted, whichever instance admitted it."""
    return next(c for c in s["clients"] if c["account"] == account)["outcomes"].get("ok", 0)


def assert_admitted_only_by_evidence(s):
    """Per-instance admitted counts come only from attempts credited by evidence."""
    for inst in s["instances"]:
        credited = {}
        for a in s["attempts"]:
            if a["instance"] == inst["id"] and a["outcome"] == "ok":
                assert a["attribution"] in ("agent", "peer", "only-instance")
                credited[a["account"]] = credited.get(a["account"], 0) + 1
        assert inst["admitted"] == credited


def test_rename_into_place_is_one_instance_accepting_from_its_listen(suite_run):
    s = suite_run.scenario("rename-into-place")
    assert len(s["instances"]) == 1
    inst = s["instances"][0]
    assert inst["birth"]["mode"] == "0777"
    assert inst["birth_class"] == "default"
    assert inst["class_at_first_accept"] == "default"
    assert inst["accepting_evidence"] == "listen"
    # listen() ran under the temporary name, before the rename and the chown
    trace = suite_run.trace("rename-into-place")
    listen = next(e for e in trace if e["ev"] == "syscall" and e["op"] == "listen")
    rename = next(e for e in trace if e["ev"] == "syscall" and e["op"] == "rename")
    birth = next(e for e in trace if e["ev"] == "instance_birth")
    assert listen["path"].endswith(".tmp") and listen["t"] < rename["t"]
    assert listen["t"] <= inst["accepting_ns"] < rename["t"]
    assert birth["created_as"] == listen["path"] and birth["endpoint_t"] > rename["t"]
    assert birth["key"] == inst["key"]
    detail = suite_run.expectation("rename-into-place", "intended_before_accept")["detail"]
    ms = inst["accepting_ns"] / 1e6
    assert "instance #1 started accepting (listen, at %.3f ms)" % ms in detail, detail


def test_rename_into_place_secured_accepts_only_intended(suite_run):
    inst = suite_run.scenario("rename-into-place-secured")["instances"][0]
    assert inst["birth_class"] == "default"          # born from the umask, under its temp name
    assert inst["class_at_first_accept"] == "intended"
    assert inst["accepting_evidence"] == "listen"


def test_service_group_default_is_the_creators(suite_run):
    trace = suite_run.trace("service-group")
    ops = next(e for e in trace if e["ev"] == "account" and e["name"] == "alice")["groups"][0]
    platform = next(e for e in trace if e["ev"] == "platform")
    birth = next(e for e in trace if e["ev"] == "instance_birth")
    assert birth["default_evidence"] == "creator"
    d = birth["default"]
    assert (d["mode"], d["uid"], d["group"]) == ("0755", 0, ops)
    # born exactly as the kernel makes it for this creator, not root:root
    assert {k: birth["perm"][k] for k in ("mode", "uid", "gid")} == \
        {k: d[k] for k in ("mode", "uid", "gid")}
    assert platform["default"]["gid"] != d["gid"]


def test_results_schema(suite_run):
    r = suite_run.results
    assert r["schema"] == 1
    assert r["run"]["seed"] == 7 and "--seed 7" in r["run"]["command"]
    failing = sum(1 for want in EXPECTED_FAILURES.values() if want)
    assert r["summary"] == {"pass": len(EXPECTED_FAILURES) - failing, "fail": failing,
                            "error": 0, "skipped": 0, "inconclusive": 0, "not_run": 0}
    for s in r["scenarios"]:
        for key in ("name", "file", "verdict", "expectations", "instances", "clients", "trace",
                    "platform_facts", "server", "faults"):
            assert key in s, (s["name"], key)
        for e in s["expectations"]:
            assert set(e) >= {"id", "text", "held", "detail"}
        for i in s["instances"]:
            assert set(i) >= {"id", "endpoint", "birth_class", "class_at_first_accept", "history"}
        for c in s["clients"]:
            assert set(c) >= {"account", "allowed", "attempts", "outcomes", "served"}
            assert sum(c["outcomes"].values()) == c["attempts"]


def test_traces_are_json_lines_with_every_event_kind(suite_run):
    events = suite_run.trace("chmod-after-listen")
    kinds = {e["ev"] for e in events}
    assert {"scenario_start", "platform", "account", "server_start", "instance_birth",
            "instance_perm", "instance_accepting", "syscall", "fault", "attempt",
            "server_exit", "scenario_end"} <= kinds, kinds
    times = [e["t"] for e in events if e["src"] != "client"]
    assert times == sorted(times)
    syscalls = [e["op"] for e in events if e["ev"] == "syscall"]
    assert syscalls.index("create") < syscalls.index("listen") < syscalls.index("secure")


def test_junit_carries_failure_text_and_report_link(suite_run):
    xml = open(os.path.join(suite_run.outdir, "junit.xml")).read()
    import xml.etree.ElementTree as ET
    root = ET.fromstring(xml)
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == set(EXPECTED_FAILURES)
    failure = cases["chmod-after-listen"].find("failure")
    assert failure is not None
    assert "started accepting" in failure.text
    assert "index.html#scenario-chmod-after-listen" in failure.text
    assert cases["umask-bind"].find("failure") is None


def test_nothing_left_behind(suite_run):
    run_id = suite_run.results["run"]["id"]
    assert leftovers(run_id) == []
    assert processes_of_run(f"pipefault-{run_id}") == []


def test_same_verdicts_on_repeated_runs(run_pipefault):
    """Verdicts and the failing expectations do not depend on timing luck."""
    repeats = int(os.environ.get("PF_REPEAT", "3"))
    for i in range(repeats):
        run = run_pipefault(SUITE, seed=100 + i)
        assert_suite_verdicts(run)
        assert leftovers(run.results["run"]["id"]) == []
