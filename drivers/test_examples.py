"""The scenarios in examples/, run against the real Debian servers they name
(installed by tools/deps.sh): each gets the verdict its header comment
documents, for the reasons the header gives.

All examples run in one `pipefault run examples/`; each test then checks one
example's verdict, expectations and the trace facts behind them. Without a
server's binary the tests are skipped with the reason (failed under
PF_REQUIRE_ALL=1, as in CI).
"""
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT, Run, leftovers, processes_of_run

EXAMPLES = os.path.join(ROOT, "examples")

# example -> (verdict, {expectation: held}, binary it needs)
DOCUMENTED = {
    "socat-echo": ("pass", {"intended_before_accept": True, "allowed_never_denied": True,
                            "others_never_admitted": True}, "/usr/bin/socat"),
    "socat-birth": ("fail", {"birth_intended": False, "intended_before_accept": True,
                             "no_default_instance": False}, "/usr/bin/socat"),
    "redis-unixsocketperm": ("pass", {"intended_before_accept": True,
                                      "allowed_never_denied": True,
                                      "others_never_admitted": True},
                             "/usr/bin/redis-server"),
    "memcached": ("pass", {"birth_intended": True, "intended_before_accept": True,
                           "allowed_never_denied": True, "others_never_admitted": True,
                           "no_default_instance": True}, "/usr/bin/memcached"),
    "php-fpm": ("pass", {"intended_before_accept": True, "allowed_never_denied": True,
                         "others_never_admitted": True, "no_default_instance": True},
                "/usr/sbin/php-fpm8.2"),
}


def example_files():
    return sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".yaml"))


def header(name):
    """The comment block before `name:`, without the '# '."""
    lines = []
    with open(os.path.join(EXAMPLES, f"{name}.yaml")) as f:
        for line in f:
            if not line.startswith("#"):
                break
            lines.append(line[1:].strip())
    return " ".join(lines)


@pytest.fixture(scope="module")
def examples_run(pipefault, tmp_path_factory):
    missing = sorted({b for _, _, b in DOCUMENTED.values() if not os.access(b, os.X_OK)})
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (tools/deps.sh installs them)")
    out = str(tmp_path_factory.mktemp("examples") / "out")
    proc = subprocess.run([pipefault, "run", "--out", out, "--seed", "1", EXAMPLES],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    run = Run(proc, out)
    assert run.results, proc.stderr
    return run


def attempts(run, name, account, counted=True):
    return [e for e in run.trace(name) if e["ev"] == "attempt" and e["account"] == account
            and e.get("counted", True) is counted]


def admitted_alice(run, name, count):
    """alice's counted attempts: `count` of them, each admitted or refused
    for not listening (an attempt the harness counts as the listen() call
    is made may still meet ECONNREFUSED), never denied; the admitted ones."""
    alice = attempts(run, name, "alice")
    assert len(alice) == count, alice
    assert all(a["outcome"] in ("ok", "ECONNREFUSED") for a in alice), alice
    ok = [a for a in alice if a["outcome"] == "ok"]
    assert ok, alice
    return ok


def births(run, name):
    return [e for e in run.trace(name) if e["ev"] == "instance_birth"]


def perms_before_accepting(run, name):
    """The instance's permission states up to its instance_accepting, in trace order
    (a birth's `t` may be earlier than events before it, so order, not t)."""
    out = []
    for e in run.trace(name):
        if e["ev"] == "instance_accepting":
            return out
        if e["ev"] in ("instance_birth", "instance_perm"):
            out.append(e["perm"])
    return out


def test_every_example_is_documented_and_tested():
    names = [f[:-len(".yaml")] for f in example_files()]
    assert sorted(names) == sorted(DOCUMENTED), "an example without its verdict here"
    for name in names:
        text = header(name)
        verdict = DOCUMENTED[name][0]
        assert text.startswith(f"{name}: "), (name, text[:80])
        assert "What it tests:" in text, name
        assert re.search(rf"Verdict: {verdict}\b", text), (name, verdict, text)


def test_examples_pass_check(pipefault):
    proc = subprocess.run([pipefault, "check", EXAMPLES], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_example_gets_its_documented_verdict(examples_run, name):
    s = examples_run.scenario(name)
    verdict, held, _ = DOCUMENTED[name]
    assert s["verdict"] == verdict, (name, s["reason"], examples_run.stderr)
    assert {e["id"]: e["held"] for e in s["expectations"]} == held, s["expectations"]


def test_examples_leave_nothing_behind(examples_run):
    run_id = examples_run.results["run"]["id"]
    assert leftovers(run_id) == []
    assert processes_of_run(f"pipefault-{run_id}") == []
    # The run's exit status follows the documented verdicts: one fails.
    assert examples_run.rc == 1, examples_run.stderr


def test_socat_echo_window_is_exercised_and_closed(examples_run):
    tr = examples_run.trace("socat-echo")
    decisions = [e["decision"] for e in tr if e["ev"] == "fault" and e["rule"] == 0]
    assert decisions[:2] == ["held", "released"], decisions
    # In the window (before socat's chmod): 0755 root:root, mallory refused.
    window = [a for a in attempts(examples_run, "socat-echo", "mallory", counted=False)]
    assert window and all(a["outcome"] == "EACCES" for a in window), window
    assert all(a["outcome"] == "EACCES" and a["reply"] == "none"
               for a in attempts(examples_run, "socat-echo", "mallory")), "mallory got in"
    for a in admitted_alice(examples_run, "socat-echo", 10):
        # client speaks first: echoed at once, no read timeout
        assert a["reply"] == "matched" and a["reply_head"] == "ping\\x0a", a
        assert (a["t_done"] - a["t_end"]) < 500e6, a


def test_socat_birth_is_the_umask_default_and_fixed_before_listen(examples_run):
    (birth,) = births(examples_run, "socat-birth")
    assert (birth["perm"]["mode"], birth["perm"]["owner"], birth["perm"]["group"]) == \
        ("0755", "root", "root"), birth
    assert birth["default"]["mode"] == "0755"
    states = perms_before_accepting(examples_run, "socat-birth")
    assert states[-1]["mode"] == "0660" and states[-1]["group"].endswith("_ops"), states


def test_redis_is_refused_in_the_umask_000_window_and_answers_pong(examples_run):
    (birth,) = births(examples_run, "redis-unixsocketperm")
    # Born 0777 under umask 000, as the redis user with the scenario's group.
    assert (birth["perm"]["mode"], birth["perm"]["owner"]) == ("0777", "redis"), birth
    assert birth["perm"]["group"].endswith("_ops"), birth
    start = next(e for e in examples_run.trace("redis-unixsocketperm")
                 if e["ev"] == "server_start")
    assert start.get("user") == "redis", start
    window = attempts(examples_run, "redis-unixsocketperm", "mallory", counted=False)
    # At the 0777 socket, before listen(): refused, never admitted.
    assert any(a["outcome"] == "ECONNREFUSED" for a in window), window
    assert all(a["outcome"] != "ok" for a in window), window
    assert all(a["outcome"] == "EACCES"
               for a in attempts(examples_run, "redis-unixsocketperm", "mallory"))
    for a in admitted_alice(examples_run, "redis-unixsocketperm", 20):
        assert a["protocol"] == "send" and a["reply"] == "matched", a
        assert a["reply_head"] == "+PONG\\x0d\\x0a", a
        assert (a["t_done"] - a["t_end"]) < 500e6, a   # never the 1s read timeout


def test_php_fpm_reads_its_configuration_from_files(examples_run):
    (birth,) = births(examples_run, "php-fpm")
    # umask from listen.mode before bind: born 0660, root's until the chown.
    assert (birth["perm"]["mode"], birth["perm"]["owner"]) == ("0660", "root"), birth
    states = perms_before_accepting(examples_run, "php-fpm")
    last = states[-1]
    assert last["mode"] == "0660" and last["owner"].endswith("_alice") and \
        last["group"].endswith("_ops"), states
    alice = admitted_alice(examples_run, "php-fpm", 10)
    assert all(a["protocol"] == "connect" and a["reply"] == "none" for a in alice), alice
    assert all(a["outcome"] == "EACCES" for a in attempts(examples_run, "php-fpm", "mallory"))
    with open(os.path.join(examples_run.outdir, "php-fpm", "server.stderr")) as f:
        assert "ready to handle connections" in f.read()


def test_memcached_is_born_intended_under_its_own_umask_and_answers_version(examples_run):
    tr = examples_run.trace("memcached")
    start = next(e for e in tr if e["ev"] == "server_start")
    assert start.get("user") == "memcache" and start["umask"] == "0000", start
    (birth,) = births(examples_run, "memcached")
    # umask 0117 around bind(): born 0660 memcache:ops, not the 0777 that
    # the starting umask 000 gives, and never changed before listen().
    assert birth["umask"] == "0117", birth
    assert (birth["perm"]["mode"], birth["perm"]["owner"]) == ("0660", "memcache"), birth
    assert birth["perm"]["group"].endswith("_ops"), birth
    assert birth["default"]["mode"] == "0777", birth
    assert perms_before_accepting(examples_run, "memcached") == [birth["perm"]]
    assert not [e for e in tr if e["ev"] == "syscall" and e["op"] == "secure"], "a chmod"
    # The hold before listen() ended because mallory was denied, never by its timeout.
    decisions = [(e["decision"], e["reason"]) for e in tr if e["ev"] == "fault"
                 and e["rule"] == 0]
    assert decisions == [("held", None), ("released", "mallory:denied")], decisions
    window = attempts(examples_run, "memcached", "mallory", counted=False)
    assert window and all(a["outcome"] == "EACCES" for a in window), window
    assert all(a["outcome"] == "EACCES" for a in attempts(examples_run, "memcached", "mallory"))
    for a in admitted_alice(examples_run, "memcached", 20):
        assert a["protocol"] == "send" and a["reply"] == "matched", a
        # matched: the reply came, the client did not wait out its read timeout
        assert a["reply_head"] == "VERSION ", a
