#!/usr/bin/python3
"""report_scale.py - how big and how fast is the HTML report of a large run?

Generates a synthetic output directory in the documented formats
(docs/results.md, docs/trace.md): N scenarios with M client attempts in total,
a mix of Linux scenarios (chmod after listen, umask around bind, re-created
endpoints) and win32 heirloom scenarios with lineage, plus skipped and broken
ones. Then runs `pipefault report DIR`, and loads index.html in headless
Chromium until the page sets data-rendered, and prints the figures.

    bench/report_scale.py --pipefault build/harness/pipefault
    bench/report_scale.py --scenarios 50 --attempts 1000 --out /tmp/x --keep

The generator (generate()) is also used by drivers/test_report.py.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

US = 1_000
MS = 1_000_000

LINUX_DEFAULT = {"mode": "0755", "uid": 0, "gid": 0, "owner": "root", "group": "root", "acl": None}
WIN_DEFAULT_SDDL = "D:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)(A;;FR;;;WD)(A;;FR;;;AN)"
WIN_INTENDED_SDDL = "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FRFW;;;WD)"


def linux_intended(run):
    return {"mode": "0660", "uid": 0, "gid": 1001, "owner": "root",
            "group": f"pf{run}_ops",
            "acl": f"user::rw-,user:pf{run}_alice:rw-,group::rw-,mask::rw-,other::---"}


def win_perm(sddl):
    return {"sddl": sddl, "owner": "S-1-5-21-1000", "normalised": sddl.replace("GA", "FA")}


class Scenario:
    """Builds one scenario's trace and results entry together, so the two agree."""

    def __init__(self, name, platform, rng, run, scale, hostile=False):
        self.name, self.platform, self.rng, self.run = name, platform, rng, run
        self.scale = scale          # ns per "tick": windows from microseconds to seconds
        self.hostile = hostile
        self.events = []
        self.instances = []
        self.server_pid = rng.randint(2000, 60000)
        self.endpoint = (f"/tmp/pipefault-{run}/{name}/ep/sock" if platform == "linux"
                         else f"\\\\.\\pipe\\pf-{name}")

    def ev(self, t, ev, src, **fields):
        e = {"t": int(t), "ev": ev, "src": src}
        e.update(fields)
        self.events.append(e)
        return e

    def perm(self, cls):
        if self.platform == "linux":
            return dict(LINUX_DEFAULT) if cls == "default" else linux_intended(self.run)
        return win_perm(WIN_DEFAULT_SDDL if cls == "default" else WIN_INTENDED_SDDL)

    def instance(self, iid, born, classes, removed, lineage=None):
        """classes: [(t, class), ...] the first at birth."""
        ev = "syscall" if self.platform == "linux" else "win-agent"
        birth = self.ev(born, "instance_birth", "supervisor" if self.platform == "linux" else "win-agent",
                        id=iid, endpoint=self.endpoint,
                        key=f"2049:{1000 + iid}" if self.platform == "linux" else f"h{iid:04x}",
                        perm=self.perm(classes[0][1]), evidence=ev)
        if self.platform == "win32":
            birth.update(created_name=lineage is None or lineage["kind"] != "inherited",
                         instance_count=1, handle=f"0x{0x100 + 4 * iid:x}")
        hist = [{"t_ns": int(born), "perm": self.perm(classes[0][1]), "class": classes[0][1], "evidence": ev}]
        for t, c in classes[1:]:
            self.ev(t, "instance_perm", "observer", id=iid, perm=self.perm(c), evidence="stat")
            hist.append({"t_ns": int(t), "perm": self.perm(c), "class": c, "evidence": "stat"})
        accepting = born + self.scale * 0.2
        self.ev(accepting, "instance_accepting", "supervisor", id=iid,
                evidence="listen" if self.platform == "linux" else "connect-named-pipe")
        cls_at_accept = [c for t, c in classes if t <= accepting][-1]
        if removed is not None:
            self.ev(removed, "instance_removed", "observer", id=iid, evidence="stat")
        inst = {"id": iid, "endpoint": self.endpoint, "key": birth["key"], "born_ns": int(born),
                "accepting_ns": int(accepting), "removed_ns": None if removed is None else int(removed),
                "birth": self.perm(classes[0][1]), "birth_evidence": ev, "birth_class": classes[0][1],
                "class_at_first_accept": cls_at_accept, "history": hist, "admitted": {},
                "lineage": lineage}
        self.instances.append(inst)
        return inst

    def build(self, kind, attempts):
        rng, sc = self.rng, self.scale
        run = self.run
        self.ev(0, "scenario_start", "harness", name=self.name, file=f"scenarios/posix/{self.name}.yaml",
                seed=1, platform=self.platform)
        if self.platform == "linux":
            self.ev(10, "platform", "harness", os="Linux", version="6.1.0", single_account=False,
                    default=dict(LINUX_DEFAULT), umask="022")
        else:
            self.ev(10, "platform", "harness", os="Windows (wine 8.0)", version="8.0", single_account=True,
                    default=win_perm(WIN_DEFAULT_SDDL), first_pipe_instance_enforced=False)
        accounts = [("alice", True), ("mallory", False)]
        for n, allowed in accounts:
            self.ev(20, "account", "harness", name=n, user=f"pf{run}_{n}", uid=rng.randint(1001, 1100),
                    gid=1001, groups=[f"pf{run}_ops"] if allowed else [], allowed=allowed)
        self.ev(30, "server_start", "harness", pid=self.server_pid,
                argv=["fixtures/posix/" + kind, "--socket", self.endpoint], umask="022")

        # Instances: how many and of which kind.
        inst_windows = []
        if kind == "chmod_after_listen":
            born = sc * 0.1
            inst_windows.append(self.instance(1, born, [(born, "default"), (born + sc * 0.6, "intended")], None))
        elif kind == "umask_around_bind":
            born = sc * 0.1
            inst_windows.append(self.instance(1, born, [(born, "intended")], None))
        elif kind == "recreate":
            t = sc * 0.1
            for iid in range(1, 5):
                life = sc * rng.uniform(1.5, 3)
                cls = [(t, "default"), (t + sc * rng.uniform(0.05, 0.8), "intended")]
                inst_windows.append(self.instance(iid, t, cls, t + life))
                t += life + sc * rng.uniform(0.01, 0.3)
        else:  # heirloom (win32)
            t = sc * 0.1
            prev_alive = None
            for iid in range(1, 6):
                life = sc * rng.uniform(1.0, 2.5)
                if iid == 1:
                    lineage, c = {"from": None, "kind": "explicit"}, "intended"
                elif prev_alive:
                    lineage, c = {"from": iid - 1, "kind": "inherited"}, prev_cls
                else:
                    lineage, c = {"from": iid - 1, "kind": "default"}, "default"
                inst_windows.append(self.instance(iid, t, [(t, c)], t + life, lineage))
                prev_cls = c
                overlap = rng.random() < 0.6
                prev_alive = overlap
                t = t + life * (0.7 if overlap else 1.0) + (0 if overlap else sc * rng.uniform(0.01, 0.2))
        end_t = max((i["removed_ns"] or i["born_ns"]) for i in inst_windows) + sc * 1.5

        self.ev(sc * 0.1, "syscall", "supervisor", pid=self.server_pid, tid=self.server_pid, op="create",
                name="socket" if self.platform == "linux" else "CreateNamedPipeW", fd=3, instance=1)
        self.ev(sc * 0.3, "syscall", "supervisor", pid=self.server_pid, tid=self.server_pid, op="listen",
                name="listen", fd=3, instance=1)

        # Faults: a hold at secure released by mallory's first attempt, a delay at accept.
        hold_start = sc * 0.45
        self.ev(hold_start, "fault", "supervisor", pid=self.server_pid, tid=self.server_pid, op="secure",
                phase="before", action="hold", rule=0, decision="held", delay_ns=None, errno=None,
                reason="until mallory attempt")

        # Clients: alice (allowed) and mallory (not allowed), one process each.
        outcomes = {}
        client_res = []
        per = [attempts - attempts // 2, attempts // 2]
        hold_released = False
        for (acct, allowed), n in zip(accounts, per):
            pid = rng.randint(2000, 60000)
            cname = f"{acct}#1"
            res = {"account": acct, "user": f"pf{run}_{acct}", "allowed": allowed, "attempts": n,
                   "outcomes": {}, "served": 0}
            for k in range(n):
                t = sc * 0.15 + (end_t - sc * 0.3) * k / max(n, 1) + rng.uniform(0, sc * 0.05)
                alive = [i for i in self.instances
                         if i["born_ns"] <= t and (i["removed_ns"] is None or t < i["removed_ns"])]
                if not alive:
                    outcome, errno, inst = ("ECONNREFUSED", 111, None) if self.platform == "linux" else \
                        ("ERROR_FILE_NOT_FOUND", 2, None)
                else:
                    i = alive[-1]
                    cls = [h["class"] for h in i["history"] if h["t_ns"] <= t][-1]
                    ok = allowed or cls == "default"
                    outcome = "ok" if ok else ("EACCES" if self.platform == "linux" else "ERROR_ACCESS_DENIED")
                    errno = None if ok else (13 if self.platform == "linux" else 5)
                    inst = i["id"]
                    if ok:
                        i["admitted"][acct] = i["admitted"].get(acct, 0) + 1
                dur = rng.uniform(sc * 0.001, sc * 0.02)
                self.ev(t, "attempt", "client", client=cname, account=acct, pid=pid, op="connect",
                        outcome=outcome, errno=errno, served=outcome == "ok", t_end=int(t + dur), instance=inst)
                if outcome == "ok":
                    self.ev(t + dur / 2, "syscall", "supervisor", pid=self.server_pid, tid=self.server_pid,
                            op="accept", name="accept4", fd=3, instance=inst)
                res["outcomes"][outcome] = res["outcomes"].get(outcome, 0) + 1
                res["served"] += outcome == "ok"
                outcomes[(acct, outcome)] = outcomes.get((acct, outcome), 0) + 1
                if acct == "mallory" and not hold_released:
                    hold_released = True
                    self.ev(max(t + dur, hold_start + sc * 0.1), "fault", "supervisor", pid=self.server_pid, tid=self.server_pid, op="secure",
                            phase="before", action="hold", rule=0, decision="released", delay_ns=None,
                            errno=None, reason="mallory attempt")
            client_res.append(res)
        if not hold_released:
            self.ev(hold_start + sc, "fault", "supervisor", pid=self.server_pid, tid=self.server_pid,
                    op="secure", phase="before", action="hold", rule=0, decision="timed-out",
                    delay_ns=None, errno=None, reason="timeout 2s")
        self.ev(sc * 0.35, "fault", "supervisor", pid=self.server_pid, tid=self.server_pid, op="accept",
                phase="before", action="delay", rule=1, decision="delayed", delay_ns=int(sc * 0.05),
                errno=None, reason=None)
        self.ev(end_t, "server_exit", "harness", pid=self.server_pid, status=0, signal=None, expected=True)
        self.ev(end_t + 10, "scenario_end", "harness", reason="clients-done")
        self.events.sort(key=lambda e: e["t"])

        # Expectations, judged from what was generated.
        defaults = [i for i in self.instances if any(h["class"] == "default" for h in i["history"])]
        early = [i for i in self.instances if i["class_at_first_accept"] != "intended"]
        mallory_in = outcomes.get(("mallory", "ok"), 0)
        exps = []
        if early:
            i = early[0]
            detail = (f"instance #{i['id']} was born with the default permissions (0755, umask 022) and "
                      f"accepted {sum(i['admitted'].values())} connections before it was secured"
                      if self.platform == "linux" else
                      f"instance #{i['id']} got the default DACL: no instance was alive when it was created")
        else:
            detail = f"all {len(self.instances)} instances were intended before they accepted"
        exps.append({"id": "intended_before_accept",
                     "text": "every instance was intended before it accepted a connection",
                     "held": not early, "detail": detail})
        exps.append({"id": "others_never_admitted", "text": "no connect by a not-allowed account succeeded",
                     "held": mallory_in == 0 if self.platform == "linux" else None,
                     "detail": (f"mallory connected {mallory_in} times" if mallory_in else "mallory never got in")
                     if self.platform == "linux" else "single-account platform: cannot be judged here"})
        exps.append({"id": "no_default_instance", "text": "no instance was ever classed `default`",
                     "held": not defaults,
                     "detail": f"{len(defaults)} instance(s) were default at some point" if defaults else "none"})
        failed = [x for x in exps if x["held"] is False]
        verdict = "fail" if failed else "pass"
        reason = f"{len(failed)} of {len(exps)} expectations failed" if failed else "all expectations held"
        return {
            "name": self.name,
            "file": f"scenarios/{'posix' if self.platform == 'linux' else 'win32'}/{self.name}.yaml",
            "description": f"synthetic {kind} scenario",
            "platform": self.platform, "verdict": verdict, "reason": reason,
            "duration_ms": int(end_t / MS) + 1, "trace": f"{self.name}/trace.jsonl",
            "platform_facts": self.events[1] and {k: v for k, v in self.events[1].items()
                                                  if k not in ("t", "ev", "src")},
            "intended": ({"mode": "0660", "owner": "root", "group": f"pf{run}_ops",
                          "acl": [f"user:pf{run}_alice:rw-"]} if self.platform == "linux"
                         else {"sddl": WIN_INTENDED_SDDL}),
            "expectations": exps,
            "instances": self.instances,
            "clients": client_res,
            "faults": [{"rule": 0, "at": "secure", "phase": "before", "action": "hold", "fired": 1},
                       {"rule": 1, "at": "accept", "phase": "before", "action": "delay", "fired": 1}],
            "server": {"pid": self.server_pid, "argv": ["fixtures/posix/" + kind, "--socket", self.endpoint],
                       "exit_status": 0, "signal": None,
                       "stderr_tail": f"{kind}: listening on {self.endpoint}\n{kind}: bye\n"},
        }


def generate(outdir, scenarios=500, attempts=10000, seed=1, hostile_name=None):
    """Writes results.json and one trace per scenario into outdir. Returns the results dict.
    hostile_name: when given, the first scenario is named this (and its paths
    and server stderr carry it too), to test that the page shows it as text."""
    rng = random.Random(seed)
    run = "1a2b3c"
    os.makedirs(outdir, exist_ok=True)
    kinds = ["chmod_after_listen", "umask_around_bind", "recreate", "heirloom"]
    results = []
    n_run = max(scenarios, 1)
    per = [attempts // n_run + (1 if k < attempts % n_run else 0) for k in range(n_run)]
    for k in range(scenarios):
        kind = kinds[k % len(kinds)]
        platform = "win32" if kind == "heirloom" else "linux"
        name = f"s{k:04d}-{kind.replace('_', '-')}"
        if hostile_name is not None and k == 0:
            name = hostile_name
        # Windows of microseconds to seconds.
        scale = [20 * US, 400 * US, 5 * MS, 80 * MS, 1200 * MS][k % 5]
        if k % 50 == 49:                       # a skipped scenario: no trace
            results.append({"name": name, "file": f"scenarios/win32/{name}.yaml", "platform": "win32",
                            "verdict": "skipped", "reason": "win32 backend unavailable: wine not found",
                            "duration_ms": 0, "trace": None, "expectations": [], "instances": [],
                            "clients": [], "faults": [], "server": None})
            continue
        sc = Scenario(name, platform, rng, run, scale)
        entry = sc.build(kind, per[k])
        if hostile_name is not None and k == 0:
            entry["file"] = f"scenarios/posix/{hostile_name}.yaml"
            entry["description"] = hostile_name
            entry["server"]["stderr_tail"] = f"{hostile_name}\n</script><script>alert(2)</script>\n\u2028x"
            entry["server"]["argv"].append(hostile_name)
            entry["expectations"][0]["detail"] = hostile_name
        if k % 50 == 48:                       # a broken run: the server crashed
            entry["verdict"] = "error"
            entry["reason"] = "server exited with signal 11 before the clients finished"
            entry["server"]["signal"] = 11
        tdir = os.path.join(outdir, name)
        os.makedirs(tdir, exist_ok=True)
        with open(os.path.join(tdir, "trace.jsonl"), "w") as f:
            for e in sc.events:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
        with open(os.path.join(tdir, "server.stderr"), "w") as f:
            f.write(entry["server"]["stderr_tail"])
        results.append(entry)
    summary = {v: sum(1 for s in results if s["verdict"] == v) for v in ("pass", "fail", "error", "skipped")}
    doc = {"schema": 1, "tool": "pipefault 0.1.0",
           "run": {"id": "20261127-061500-" + run, "started": "2026-11-27T06:15:00Z", "seed": seed,
                   "command": f"pipefault run --seed {seed} scenarios/posix",
                   "host": {"os": "Linux", "release": "6.1.0", "wine": "8.0"}},
           "summary": summary, "scenarios": results}
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    return doc


CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000"]


def chromium(profile_dir):
    """A headless Chromium driven by selenium, with a fresh profile and the
    browser console log available through get_log('browser')."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile_dir}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def wait_rendered(driver, timeout=60.0):
    """Waits until the page says it has drawn its first screen; returns its value."""
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.documentElement.getAttribute('data-rendered')"))


def measure(index_html, loads=3):
    """Render time of the page in ms (navigation start to data-rendered), per load."""
    times = []
    profile = tempfile.mkdtemp(prefix="pf-chromium-")
    try:
        driver = chromium(profile)
        try:
            for _ in range(loads):
                driver.get("about:blank")
                driver.get("file://" + os.path.abspath(index_html))
                wait_rendered(driver)
                times.append(float(driver.execute_script(
                    "return +document.documentElement.getAttribute('data-render-ms')")))
            # Opening the busiest scenario not drawn yet: how long until its
            # timeline is drawn; then one zoom step (a full redraw).
            open_ms = driver.execute_async_script("""
                var done = arguments[arguments.length - 1];
                var best = null;
                document.querySelectorAll('section.pf-scenario').forEach(function (s) {
                  if (s.querySelector('svg.pf-tl')) return;
                  if (!best || +s.getAttribute('data-events') > +best.getAttribute('data-events')) best = s; });
                if (!best) { done(null); return; }
                var det = best.querySelector('details');
                det.open = false;
                best.scrollIntoView();
                var t = performance.now();
                det.addEventListener('toggle', function () {
                  requestAnimationFrame(function () {
                    var opened = performance.now() - t;
                    var z = performance.now();
                    best.querySelector('.pf-zoomin').click();
                    done([best.id, +best.getAttribute('data-events'), opened, performance.now() - z]); }); }, {once: true});
                det.open = true;""")
            errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return times, open_ms, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipefault", default=os.environ.get("PIPEFAULT"), help="the pipefault binary")
    ap.add_argument("--scenarios", type=int, default=500)
    ap.add_argument("--attempts", type=int, default=10000, help="client attempts in total")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="output directory (default: a temporary one, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the output directory")
    ap.add_argument("--loads", type=int, default=3, help="page loads to time")
    ap.add_argument("--no-browser", action="store_true", help="only generate and write the report")
    args = ap.parse_args()
    if not args.pipefault:
        ap.error("give --pipefault or set PIPEFAULT")
    out = args.out or tempfile.mkdtemp(prefix="pf-report-scale-")
    try:
        t = time.monotonic()
        doc = generate(out, args.scenarios, args.attempts, args.seed)
        gen_s = time.monotonic() - t
        trace_bytes = sum(os.path.getsize(os.path.join(out, s["trace"])) for s in doc["scenarios"] if s.get("trace"))
        t = time.monotonic()
        proc = subprocess.run([args.pipefault, "report", out], capture_output=True, text=True)
        write_s = time.monotonic() - t
        if proc.returncode != 0:
            print(f"pipefault report failed ({proc.returncode}): {proc.stderr.strip()}", file=sys.stderr)
            return 1
        index = os.path.join(out, "index.html")
        size = os.path.getsize(index)
        print(f"scenarios          {args.scenarios}")
        print(f"client attempts    {args.attempts}")
        print(f"results.json       {os.path.getsize(os.path.join(out, 'results.json')) / 1e6:.2f} MB")
        print(f"traces             {trace_bytes / 1e6:.2f} MB")
        print(f"generate           {gen_s:.2f} s")
        print(f"pipefault report   {write_s * 1000:.0f} ms")
        print(f"index.html         {size / 1e6:.2f} MB ({size} bytes)")
        if not args.no_browser:
            times, open_ms, errors = measure(index, args.loads)
            print(f"render (first screen, navigation start to data-rendered): "
                  f"median {statistics.median(times):.0f} ms, loads {', '.join(f'{x:.0f}' for x in times)} ms")
            if open_ms is not None:
                print(f"jump to {open_ms[0]} ({open_ms[1]} events) and draw what is on screen: "
                      f"{open_ms[2]:.0f} ms; "
                      f"one zoom step: {open_ms[3]:.0f} ms")
            if errors:
                print(f"browser console errors: {errors}", file=sys.stderr)
                return 1
        if args.out or args.keep:
            print(f"output directory   {out}")
    finally:
        if not (args.out or args.keep):
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
