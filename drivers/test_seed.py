"""The seed suite: the field report's heirloom-permissions bug,
reproduced with real Win32 calls under Wine, and its fixes proven.

The npipe-style server must fail because an instance is born with the default
DACL once the connection is fully closed before the next create, and pass it
on; the heirloom, go-winio and SD-on-every-instance servers must pass under
the same injected ordering, on every run. Also checked: what the trace says
about each instance (and that the Win32 clocks were re-based onto the trace
clock), that the hold really orders close before create, the skip reason when
the Win32 parts are missing, and that nothing of Wine is left behind, also
after Ctrl-C.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import ROOT, leftovers

SUITE = os.path.join(ROOT, "scenarios", "seed")
NPIPE = "npipe-close-before-create"
FIXES = ["heirloom-close-before-create", "winio-close-before-create",
         "sd-every-close-before-create"]
BOTH = {"birth_intended", "no_default_instance"}


def win32_dir(pipefault):
    """Where pipefault finds the Win32 programs (harness/src/helper_dirs.h):
    <prefix>/libexec/pipefault/win32 installed, else <build>/win32."""
    up = os.path.dirname(os.path.dirname(pipefault))
    installed = os.path.join(up, "libexec", "pipefault", "win32")
    return installed if os.path.isdir(os.path.join(up, "libexec", "pipefault")) \
        else os.path.join(up, "win32")


@pytest.fixture(scope="module")
def win32(pipefault):
    """Skips (with the reason) where the win32 backend cannot run at all."""
    if not shutil.which("wine") or not shutil.which("wineserver"):
        pytest.skip("Wine is not installed")
    d = win32_dir(pipefault)
    if not os.path.exists(os.path.join(d, "pfagent.dll")):
        pytest.skip(f"the Win32 parts are not built in {d} (needs mingw-w64)")
    return d


def wineserver_dirs():
    """Wine's per-server socket directories (/tmp/wine-XXXXXX)."""
    return {e for e in os.listdir("/tmp") if e.startswith("wine-")}


def wine_leftovers(server_dirs_before=None):
    """Wine prefixes of pipefault, processes still running in one, and
    wineserver directories that appeared since server_dirs_before."""
    # Wine sessions (docs/security.md) whose pipefault process is gone.
    wine_dir = "/var/lib/pipefault/wine"
    found = [f"{wine_dir}/{e}" for e in (os.listdir(wine_dir) if os.path.isdir(wine_dir) else [])
             if not os.path.exists(f"/proc/{e.split('-')[0]}")]
    if server_dirs_before is not None:
        found += [f"/tmp/{e}" for e in sorted(wineserver_dirs() - server_dirs_before)]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        prefix = b"WINEPREFIX=/var/lib/pipefault/wine/"
        if prefix in env and not os.path.exists(
                "/proc/" + env.split(prefix)[1].split(b"-")[0].decode()):
            found.append(f"process {pid}")
    return found


def failing(run, name):
    return {e["id"] for e in run.scenario(name)["expectations"] if e["held"] is False}


def events(run, name, ev):
    return [e for e in run.trace(name) if e["ev"] == ev]


def assert_seed_verdicts(run):
    assert run.rc == 1, run.stderr
    npipe = run.scenario(NPIPE)
    assert npipe["verdict"] == "fail", (npipe["reason"], npipe["expectations"])
    assert failing(run, NPIPE) == BOTH, npipe["expectations"]
    for name in FIXES:
        s = run.scenario(name)
        assert s["verdict"] == "pass", (name, s["reason"], s["expectations"])
        assert all(e["held"] is True for e in s["expectations"]), (name, s["expectations"])
        assert s["instances"], name
        assert all(i["birth_class"] == "intended" for i in s["instances"]), (name, s["instances"])


@pytest.fixture(scope="module")
def seed_run(pipefault, win32, tmp_path_factory):
    """One run of the seed suite, shared by the tests that only read it."""
    out = str(tmp_path_factory.mktemp("seed") / "out")
    proc = subprocess.run([pipefault, "run", "--out", out, "--seed", "1", SUITE],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)

    class R:
        pass
    r = R()
    r.rc, r.stderr, r.outdir = proc.returncode, proc.stderr, out
    r.results = json.load(open(os.path.join(out, "results.json")))
    r.scenario = lambda name: next(s for s in r.results["scenarios"] if s["name"] == name)

    def trace(name):
        with open(os.path.join(out, r.scenario(name)["trace"])) as f:
            return [json.loads(line) for line in f if line.strip()]
    r.trace = trace
    return r


def test_npipe_fails_and_the_fixes_pass(seed_run):
    assert_seed_verdicts(seed_run)


def test_npipe_instance_born_default_breaks_the_chain_and_passes_it_on(seed_run):
    inst = seed_run.scenario(NPIPE)["instances"]
    first = inst[0]
    assert first["birth_class"] == "intended" and first["created_name"] is True
    assert first["sa_passed"] is True
    assert first["lineage"]["kind"] == "explicit"
    # The create held until alice's connection was over made a new pipe
    # name, with NULL attributes: the default DACL.
    second = inst[1]
    assert second["created_name"] is True and second["sa_passed"] is False
    assert second["birth_class"] == "default"
    assert second["lineage"] == {"from": None, "kind": "default",
                                 "note": second["lineage"]["note"]}
    assert "disappeared" in second["lineage"]["note"]
    # ... and the instances after it joined that name and inherited it.
    later = inst[2:]
    assert later, inst
    for i in later:
        assert i["birth_class"] == "default", i
        if not i["created_name"]:
            assert i["lineage"]["kind"] == "inherited" and i["lineage"]["from"] >= 2, i
    assert any(i["lineage"]["kind"] == "inherited" for i in later), later
    # Who got in while it carried the default: alice, once.
    assert second["admitted"] == {"alice": 1}, second


def test_heirloom_instances_inherit_from_the_first(seed_run):
    inst = seed_run.scenario("heirloom-close-before-create")["instances"]
    assert inst[0]["lineage"]["kind"] == "explicit"
    for i in inst[1:]:
        assert i["created_name"] is False and i["sa_passed"] is False, i
        assert i["lineage"] == {"from": 1, "kind": "inherited", "note": i["lineage"]["note"]}


def test_platform_event_measured_and_normalised(seed_run):
    plat = events(seed_run, NPIPE, "platform")
    assert len(plat) == 1
    p = plat[0]
    assert p["os"] == "win32" and p["single_account"] is True
    assert p["version"].startswith("Wine")
    assert isinstance(p["first_pipe_instance_enforced"], bool)
    # The scenario wrote GA and GRGW; normalised, they are file rights.
    assert p["intended"]["sddl"] == "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;WD)"
    assert p["intended"]["normalised"] == \
        "D:(A;;FA;;;S-1-5-18)(A;;FA;;;S-1-5-32-544)(A;;FRFW;;;S-1-1-0)"
    assert p["default"]["normalised"] != p["intended"]["normalised"]
    # Instance #1 was given the intended SD: read back from the handle, it
    # normalises to the same string whatever form the platform stored.
    births = events(seed_run, NPIPE, "instance_birth")
    assert births[0]["perm"]["normalised"] == p["intended"]["normalised"]
    assert births[1]["perm"]["normalised"] == p["default"]["normalised"]


def test_agent_events_are_complete_and_on_the_trace_clock(seed_run):
    tr = seed_run.trace(NPIPE)
    start = next(e for e in tr if e["ev"] == "server_start")["t"]
    end = next(e for e in tr if e["ev"] == "scenario_end")["t"]
    win = [e for e in tr if e["src"] in ("win-agent", "win-client")]
    assert win
    for e in win:
        # Re-based from QueryPerformanceCounter: inside the scenario, after
        # the server was started.
        assert start <= e["t"] <= end, e
        assert "qpc_ns" not in e
    births = [e for e in tr if e["ev"] == "instance_birth"]
    assert [b["id"] for b in births] == list(range(1, len(births) + 1))
    for b in births:
        assert b["src"] == "win-agent" and b["evidence"] == "win-agent"
        assert b["endpoint"].startswith("\\\\.\\pipe\\pipefault-")
        for k in ("created_name", "instance_count", "sa_passed", "handle", "key"):
            assert k in b, (k, b)
    accepting = {e["id"] for e in tr if e["ev"] == "instance_accepting"}
    assert accepting == {b["id"] for b in births}
    assert all(e["evidence"] == "connect-named-pipe"
               for e in tr if e["ev"] == "instance_accepting")
    calls = {e["name"] for e in tr if e["ev"] == "syscall"}
    # npipe_listener resolves these with GetProcAddress: the hooks saw them.
    assert {"CreateNamedPipeW", "ConnectNamedPipe", "CloseHandle"} <= calls
    attempts = [e for e in tr if e["ev"] == "attempt"]
    assert len(attempts) == 3
    for a in attempts:
        assert a["src"] == "win-client" and a["account"] == "alice"
        assert a["t"] <= a["t_end"]
        assert a["served"] is (a["outcome"] == "ok"), a
        # A served attempt names the instance the agent saw it connect to.
        if a["outcome"] == "ok":
            assert a["instance"] in {b["id"] for b in births}, a
    # The first connects to instance #1, which exists before clients start.
    assert attempts[0]["outcome"] == "ok" and attempts[0]["served"] is True


def test_hold_orders_close_before_create(seed_run):
    tr = seed_run.trace(NPIPE)
    faults = [e for e in tr if e["ev"] == "fault" and e["decision"] != "skipped"]
    assert [f["decision"] for f in faults] == ["held", "released"], faults
    held, released = faults
    assert held["op"] == "create" and held["rule"] == 0 and held["hold"] == released["hold"]
    close_1 = next(e for e in tr if e["ev"] == "syscall" and e["name"] == "CloseHandle"
                   and e["instance"] == 1)
    assert any(e["ev"] == "instance_removed" and e["id"] == 1 for e in tr)
    birth_2 = next(e for e in tr if e["ev"] == "instance_birth" and e["id"] == 2)
    # The release came from a finished attempt of alice's (the first one, or
    # the next if the first ended before the hold began), which ended only
    # after the server entered CloseHandle on instance #1 (alice reads to end
    # of file); the create of instance #2 went on only after the release.
    before = [a for a in tr if a["ev"] == "attempt" and a["t_end"] <= released["t"]]
    assert before, tr
    assert close_1["t"] <= before[0]["t_end"] <= released["t"] <= birth_2["t"]


def test_same_verdicts_on_another_run_and_nothing_left(pipefault, win32, run_pipefault,
                                                       seed_run):
    before = wineserver_dirs()
    run = run_pipefault(SUITE, seed=7)
    assert_seed_verdicts(run)
    assert wine_leftovers(before) == []
    assert leftovers(run.results["run"]["id"]) == []


def test_skipped_with_reason_without_the_win32_parts(pipefault, tmp_path):
    # An installation whose libexec/pipefault has no win32/ directory.
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "libexec" / "pipefault").mkdir(parents=True)
    shutil.copy2(pipefault, prefix / "bin" / "pipefault")
    out = str(tmp_path / "out")
    proc = subprocess.run([str(prefix / "bin" / "pipefault"), "run", "--out", out,
                           os.path.join(SUITE, NPIPE + ".yaml")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    res = json.load(open(os.path.join(out, "results.json")))
    s = res["scenarios"][0]
    assert s["verdict"] == "skipped", s
    assert "not built" in s["reason"] or "Wine" in s["reason"], s["reason"]
    assert proc.returncode == 0, proc.stderr


def test_interrupt_leaves_no_wine_behind(pipefault, win32, tmp_path):
    out = str(tmp_path / "out")
    before = wineserver_dirs()
    proc = subprocess.Popen([pipefault, "run", "--out", out, SUITE],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    # Interrupt once the first scenario's server is running under Wine.
    deadline = time.time() + 120
    trace = os.path.join(out, "heirloom-close-before-create", "trace.jsonl")
    while time.time() < deadline:
        if os.path.exists(trace) and '"instance_birth"' in open(trace).read():
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the first scenario never started its server")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode == 3
    assert wine_leftovers(before) == []


# ---- the Win32 programs on their own (no harness core involved) ----------

@pytest.fixture(scope="module")
def wine_prefix(win32, tmp_path_factory):
    """A private prefix with a persistent wineserver, removed afterwards."""
    prefix = str(tmp_path_factory.mktemp("wineprefix"))
    env = dict(os.environ, WINEPREFIX=prefix, WINEDEBUG="-all",
               WINEDLLOVERRIDES="mscoree,mshtml=")
    env.pop("DISPLAY", None)
    subprocess.run(["wineserver", "-p"], env=env, check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Output to /dev/null: wineboot leaves services running that would
        # hold captured pipes open until the prefix is killed.
        subprocess.run(["wine", "wineboot", "-i"], env=env, check=True, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        yield env
    finally:
        # Debian's Wine names its socket directory in the prefix; it stays
        # behind the server unless removed.
        try:
            with open(os.path.join(prefix, "wineserver")) as f:
                server_dir = f.read().strip()
        except OSError:
            server_dir = ""
        subprocess.run(["wineserver", "-k"], env=env, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["wineserver", "-w"], env=env, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(prefix, ignore_errors=True)
        if server_dir.startswith("wine-") and "/" not in server_dir:
            shutil.rmtree(os.path.join("/tmp", server_dir), ignore_errors=True)


def probe(win32, env, sddl):
    out = subprocess.run(["wine", os.path.join(win32, "probe.exe"), sddl], env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def test_sddl_normalisation_maps_generic_rights_and_order(win32, wine_prefix):
    generic = probe(win32, wine_prefix, "D:P(A;;GA;;;SY)(A;;GRGW;;;WD)")["intended"]
    specific = probe(win32, wine_prefix, "D:(A;;FA;;;S-1-5-18)(A;;GWGR;;;WD)")["intended"]
    assert generic["normalised"] == specific["normalised"] == \
        "D:(A;;FA;;;S-1-5-18)(A;;FRFW;;;S-1-1-0)"
    # A real difference stays a difference.
    read_only = probe(win32, wine_prefix, "D:P(A;;GA;;;SY)(A;;GR;;;WD)")["intended"]
    assert read_only["normalised"] != generic["normalised"]
    denied = probe(win32, wine_prefix, "D:P(D;;GA;;;SY)(A;;GRGW;;;WD)")["intended"]
    assert denied["normalised"].startswith("D:(D;;FA;;;S-1-5-18)")
    bad = probe(win32, wine_prefix, "D:(A;;XX;;;nobody)")["intended"]
    assert "does not parse" in bad["error"]


def test_probe_measures_default_and_first_pipe_instance(win32, wine_prefix):
    p = probe(win32, wine_prefix, "D:(A;;GA;;;SY)")
    assert p["os"] == "win32" and p["version"].startswith("Wine ")
    # Wine gives a NULL-attributes pipe no DACL at all, and does not enforce
    # FILE_FLAG_FIRST_PIPE_INSTANCE (docs/win32.md); the probe must say so.
    assert p["default"]["normalised"] == "D:NO_ACCESS_CONTROL"
    assert p["first_pipe_instance_enforced"] is False


def test_launcher_reports_an_agent_that_does_not_load(win32, wine_prefix):
    r = subprocess.run(["wine", os.path.join(win32, "launch.exe"),
                        "Z:\\nonexistent\\pfagent.dll",
                        "Z:" + os.path.join(win32, "probe.exe").replace("/", "\\")],
                       env=wine_prefix, capture_output=True, text=True, timeout=60)
    assert r.returncode == 125, (r.stdout, r.stderr)
    assert "did not load" in r.stderr


def test_launcher_runs_a_program_as_an_account(win32, wine_prefix):
    # Under Wine LogonUserW accepts any account; this exercises the code
    # path (LogonUserW + CreateProcessAsUserW) that real Windows uses.
    env = dict(wine_prefix, PF_ACCOUNT_PASSWORD="pw")
    r = subprocess.run(["wine", os.path.join(win32, "launch.exe"), "--as", "alice",
                        "Z:" + os.path.join(win32, "probe.exe").replace("/", "\\"),
                        "D:(A;;GA;;;SY)"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["intended"]["normalised"] == "D:(A;;FA;;;S-1-5-18)"
    no_pw = subprocess.run(["wine", os.path.join(win32, "launch.exe"), "--as", "alice",
                            "probe.exe"], env=wine_prefix, capture_output=True, text=True,
                           timeout=60)
    assert no_pw.returncode == 125 and "PF_ACCOUNT_PASSWORD" in no_pw.stderr


def test_go_server_is_seen_through_getprocaddress(pipefault, win32, run_pipefault, tmp_path):
    """The field report's server written in Go (fixtures/win32/npipe_go): Go
    resolves CreateNamedPipeW at run time, so only the GetProcAddress hook
    can see it. Same ordering, same bug."""
    if not os.path.exists(os.path.join(win32, "npipe_go.exe")):
        pytest.skip("the Go fixture is not built (no go toolchain)")
    with open(os.path.join(SUITE, NPIPE + ".yaml")) as f:
        text = f.read()
    text = text.replace(f"name: {NPIPE}", "name: npipe-go-close-before-create")
    text = text.replace("fixture: npipe_listener", "fixture: npipe_go")
    path = tmp_path / "npipe-go.yaml"
    path.write_text(text)
    run = run_pipefault(str(path))
    assert run.rc == 1, run.stderr
    s = run.scenario("npipe-go-close-before-create")
    assert s["verdict"] == "fail" and failing(run, s["name"]) == BOTH, s["expectations"]
    inst = s["instances"]
    assert inst[0]["birth_class"] == "intended" and inst[0]["sa_passed"] is True
    assert inst[1]["birth_class"] == "default" and inst[1]["created_name"] is True
    calls = {e["name"] for e in run.trace(s["name"]) if e["ev"] == "syscall"}
    assert {"CreateNamedPipeW", "ConnectNamedPipe", "CloseHandle"} <= calls
    assert_attempts_credited_by_evidence(run.trace(s["name"]))


def assert_attempts_credited_by_evidence(tr):
    """Every admitted attempt names a born instance or is explicitly unknown
    (null), and no instance of a one-connection-per-instance server is
    credited with two connections."""
    born = {e["id"] for e in tr if e["ev"] == "instance_birth"}
    per_instance = {}
    for a in (e for e in tr if e["ev"] == "attempt" and e["outcome"] == "ok"):
        assert "instance" in a, a
        if a["instance"] is not None:
            assert a["instance"] in born, a
            per_instance[a["instance"]] = per_instance.get(a["instance"], 0) + 1
    assert all(n <= 1 for n in per_instance.values()), per_instance


def test_npipe_attempts_credited_by_evidence(seed_run):
    assert_attempts_credited_by_evidence(seed_run.trace(NPIPE))
    assert_attempts_credited_by_evidence(seed_run.trace("heirloom-close-before-create"))


def test_overlapped_server_connections_credited_to_their_instances(pipefault, win32,
                                                                   run_pipefault, tmp_path):
    """A server whose connects complete later (FILE_FLAG_OVERLAPPED,
    GetOverlappedResult): every admitted attempt is credited, by the agent's
    evidence, to its own instance."""
    with open(os.path.join(SUITE, "sd-every-close-before-create.yaml")) as f:
        text = f.read()
    text = text.replace("name: sd-every-close-before-create", "name: overlapped-sd-every")
    text = text.replace("fixture: sd_every", "fixture: overlapped_listener")
    path = tmp_path / "overlapped.yaml"
    path.write_text(text)
    run = run_pipefault(str(path))
    s = run.scenario("overlapped-sd-every")
    assert s["verdict"] == "pass", (s["reason"], s["expectations"])
    tr = run.trace(s["name"])
    ok = [a for a in tr if a["ev"] == "attempt" and a["outcome"] == "ok"]
    assert ok, tr
    assert all(a["instance"] is not None for a in ok), ok
    assert_attempts_credited_by_evidence(tr)


def test_server_using_unseen_pipe_handles_is_an_error(pipefault, win32, run_pipefault,
                                                      tmp_path):
    """A server that accepts on a pipe handle pipefault never saw created (a
    DuplicateHandle copy) gets no verdict: the run says why it cannot judge."""
    with open(os.path.join(SUITE, "sd-every-close-before-create.yaml")) as f:
        text = f.read()
    text = text.replace("name: sd-every-close-before-create", "name: unseen-handles")
    text = text.replace("fixture: sd_every", "fixture: duplicate_listener")
    path = tmp_path / "unseen.yaml"
    path.write_text(text)
    run = run_pipefault(str(path))
    s = run.scenario("unseen-handles")
    assert s["verdict"] == "error", (s["verdict"], s["reason"])
    assert "did not see created (ConnectNamedPipe on pipe handle" in s["reason"], s["reason"]
    assert "pipefault cannot judge this server" in s["reason"], s["reason"]


def test_until_accepting_counts_only_attempts_that_reached_an_instance(pipefault, win32,
                                                                      run_pipefault, tmp_path):
    """`until: accepting` on win32: the server's 2nd create is held until bob's
    one attempt, which comes well after alice's first. Meanwhile no instance
    has the name, so alice's attempts end ERROR_FILE_NOT_FOUND: they must not
    count, and she keeps trying until three attempts reached an instance --
    the default-born one among them. Without this, a slow Wine could end the
    scenario before the held create ran, and judge instance #1 alone."""
    with open(os.path.join(SUITE, NPIPE + ".yaml")) as f:
        text = f.read()
    text = text.replace("until: {account: alice, event: attempt}",
                        "until: {account: bob, event: attempt}")
    text = text.replace("accounts:\n  - name: alice\n    allowed: true\n",
                        "accounts:\n  - name: alice\n    allowed: true\n"
                        "  - name: bob\n    allowed: true\n")
    text = text.replace("    until: accepting\n",
                        "    until: accepting\n  - account: bob\n    attempts: 1\n"
                        "    start: 500ms\n")
    path = tmp_path / "until-accepting.yaml"
    path.write_text(text)
    run = run_pipefault(str(path))
    assert run.rc == 1, run.stderr
    s = run.scenario(NPIPE)
    assert s["verdict"] == "fail" and failing(run, NPIPE) == BOTH, s["expectations"]
    alice = [e for e in run.trace(NPIPE) if e["ev"] == "attempt" and e["account"] == "alice"]
    counted = [e for e in alice if e["counted"]]
    skipped = [e for e in alice if not e["counted"]]
    assert len(counted) == 3, alice
    assert all(e["outcome"] == "ok" and e["instance"] for e in counted), counted
    assert skipped and all(e["outcome"] in ("ERROR_FILE_NOT_FOUND", "ERROR_PIPE_BUSY")
                           for e in skipped), skipped
    # The counted attempts after the first reached the default-born instance(s).
    born = {i["id"]: i["birth_class"] for i in s["instances"]}
    assert any(born.get(e["instance"]) == "default" for e in counted[1:]), (counted, born)
