"""The HTML report (index.html), checked in a real browser.

Drives headless Chromium over a report of a real run of the posix suite, and
over reports made from synthetic output directories (bench/report_scale.py's
generator) for what a real run cannot easily produce: hostile names, many
scenarios, damaged inputs.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import report_scale  # noqa: E402  (the generator and the browser setup)

HOSTILE = "<img src=x onerror=alert(1)>"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def cli(request):
    """The pipefault binary: the driver's `pipefault` fixture, else $PIPEFAULT."""
    try:
        return request.getfixturevalue("pipefault")
    except pytest.FixtureLookupError:
        path = os.environ.get("PIPEFAULT")
        if not path:
            pytest.skip("no pipefault binary: pass --pipefault or set PIPEFAULT")
        return path


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMEDRIVER):
        pytest.skip("chromium-driver is not installed")
    profile = tempfile.mkdtemp(prefix="pf-chromium-")
    driver = report_scale.chromium(profile)
    # Record alert() calls made by anything in the page, before any of it runs.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__pfAlerts = [];"
        "window.alert = function (m) { window.__pfAlerts.push(String(m)); };")})
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def report(cli, outdir):
    proc = subprocess.run([cli, "report", outdir], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"pipefault report failed: {proc.stderr}"
    return os.path.join(outdir, "index.html")


def load(driver, index_html, fragment=""):
    driver.get("about:blank")
    driver.get_log("browser")                     # start from an empty console
    driver.get("file://" + os.path.abspath(index_html) + fragment)
    assert report_scale.wait_rendered(driver) == "1"


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def save_screenshot(driver, tmp_path, name):
    path = str(tmp_path / name)
    driver.save_screenshot(path)
    print(f"screenshot: {path}")
    # PF_ARTIFACTS: a directory to copy it to, or "1" for build/artifacts.
    artifacts = os.environ.get("PF_ARTIFACTS")
    if artifacts in ("1", "yes", "true"):
        artifacts = os.path.join(ROOT, "build", "artifacts")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(path, os.path.join(artifacts, name))
    return path


def embedded_data(index_html):
    """The run data as the page sees it, checking it cannot close its script tag."""
    with open(index_html, encoding="utf-8") as f:
        html = f.read()
    m = re.search(r'<script type="application/json" id="pf-data">(.*?)</script>', html, re.S)
    assert m, "no pf-data block in index.html"
    raw = m.group(1)
    assert "<" not in raw and ">" not in raw, "the data block holds a raw angle bracket"
    assert "\u2028" not in raw and "\u2029" not in raw
    return html, json.loads(raw)


def section(driver, name):
    return driver.execute_script("return document.getElementById(arguments[0])", "scenario-" + name)


def wait_for(driver, script, *args, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script, *args))


# --- a real run --------------------------------------------------------------

@pytest.fixture(scope="module")
def posix_run(cli, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("posix-run") / "out")
    proc = subprocess.run([cli, "run", "--out", out, os.path.join(ROOT, "scenarios", "posix")],
                          capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert proc.returncode == 1, (
        f"the posix suite has failing scenarios, so exit code 1 was expected, got "
        f"{proc.returncode}: {proc.stderr[-2000:]}")
    assert os.path.exists(os.path.join(out, "index.html")), "pipefault run did not write index.html"
    with open(os.path.join(out, "results.json")) as f:
        return out, json.load(f)


def test_run_writes_report_and_report_regenerates_it(cli, posix_run):
    out, results = posix_run
    index = os.path.join(out, "index.html")
    os.unlink(index)
    report(cli, out)
    _, data = embedded_data(index)
    assert [s["name"] for s in data["scenarios"]] == [s["name"] for s in results["scenarios"]]
    assert not [f for f in os.listdir(out) if f.startswith(".index.html")], "temporary file left behind"


def test_real_report_overview_timeline_details(posix_run, browser, tmp_path):
    out, results = posix_run
    load(browser, os.path.join(out, "index.html"))

    # The overview lists every scenario with its verdict, and the counts.
    rows = browser.execute_script("""
        return Array.from(document.querySelectorAll('#pf-overview-table tbody tr')).map(function (tr) {
          return [tr.querySelector('a').textContent, tr.getAttribute('data-verdict'),
                  tr.querySelector('.pf-verdict').textContent, tr.querySelector('a').getAttribute('href')]; });""")
    assert [(r[0], r[1], r[2]) for r in rows] == \
        [(s["name"], s["verdict"], s["verdict"]) for s in results["scenarios"]]
    assert all(r[3] == "#scenario-" + r[0] for r in rows)
    counts = browser.execute_script("""
        var c = {}; document.querySelectorAll('#pf-counts .pf-count').forEach(function (b) {
          c[b.getAttribute('data-verdict')] = +b.querySelector('b').textContent; }); return c;""")
    for verdict, n in results["summary"].items():
        if n or verdict in ("pass", "fail", "error", "skipped"):
            assert counts[verdict] == n, verdict
    command = browser.execute_script("return document.getElementById('pf-command').textContent")
    assert command == results["run"]["command"]

    # A failing scenario with a default instance shows it as such in its timeline.
    failing = [s for s in results["scenarios"] if s["verdict"] == "fail" and any(
        i.get("birth_class") == "default" or any(h.get("class") == "default" for h in i.get("history") or [])
        for i in s.get("instances") or [])]
    assert failing, "the posix suite should have a failing scenario with a default instance"
    sc = failing[0]
    load(browser, os.path.join(out, "index.html"), "#scenario-" + sc["name"])
    # Its failing expectation is in the overview, in the checker's words.
    broken = [x["detail"] for x in sc["expectations"] if x["held"] is False and x.get("detail")]
    overview_text = browser.execute_script(
        "return document.querySelector('#pf-overview-table a[href=\"#scenario-' + arguments[0] + '\"]')"
        ".closest('tr').querySelector('.pf-what').textContent", sc["name"])
    for d in broken:
        assert d in overview_text
    mark = wait_for(browser, "return document.getElementById(arguments[0])"
                    ".querySelector('svg.pf-tl .pf-inst[data-class=\"default\"]')", "scenario-" + sc["name"])
    inst_id = mark.get_attribute("data-instance")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", mark)
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(browser).move_to_element(mark).click().perform()
    panel = browser.execute_script(
        "return document.getElementById(arguments[0]).querySelector('.pf-detailpanel').textContent",
        "scenario-" + sc["name"])
    assert f"Instance #{inst_id}" in panel
    assert "default" in panel
    save_screenshot(browser, tmp_path, "report-posix.png")
    assert console_errors(browser) == []
    assert browser.execute_script("return window.__pfAlerts") == []


# --- synthetic output directories ------------------------------------------

def test_hostile_names_are_shown_as_text(cli, browser, tmp_path):
    out = str(tmp_path / "out")
    report_scale.generate(out, scenarios=6, attempts=60, hostile_name=HOSTILE)
    index = report(cli, out)
    html, data = embedded_data(index)
    assert HOSTILE not in html and "</script><script>alert(2)" not in html
    assert data["scenarios"][0]["name"] == HOSTILE

    load(browser, index, "#scenario-" + HOSTILE)
    sec = section(browser, HOSTILE)
    assert sec is not None, "no section with the scenario's anchor"
    name = browser.execute_script("return arguments[0].querySelector('.pf-name').textContent", sec)
    assert name == HOSTILE
    stderr = wait_for(browser, "var p = arguments[0].querySelector('pre.pf-stderr'); return p && p.textContent", sec)
    assert "</script><script>alert(2)</script>" in stderr
    assert HOSTILE in stderr
    argv = browser.execute_script("return arguments[0].textContent", sec)
    assert "/ep/sock" in argv and HOSTILE in argv
    # Nothing from the data became markup.
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert browser.execute_script("return document.scripts.length") == 2
    # Open the details of an attempt too: the panel is text as well.
    mark = browser.execute_script("return arguments[0].querySelector('svg .pf-attempt')", sec)
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", mark)
    assert browser.execute_script("return window.__pfAlerts") == []
    assert console_errors(browser) == []
    save_screenshot(browser, tmp_path, "report-hostile.png")


def test_synthetic_run_at_small_scale(cli, tmp_path):
    out = str(tmp_path / "out")
    doc = report_scale.generate(out, scenarios=30, attempts=600, seed=7)
    index = report(cli, out)
    html, data = embedded_data(index)
    assert os.path.getsize(index) < 10_000_000
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<script src" not in html and "<link rel=\"stylesheet\"" not in html
    assert data["summary"] == doc["summary"]
    assert len(data["scenarios"]) == 30
    attempts = 0
    for got, want in zip(data["scenarios"], doc["scenarios"]):
        assert got["name"] == want["name"] and got["verdict"] == want["verdict"]
        if not want.get("trace"):
            assert got["events"] == [] and got["report_notes"]
            continue
        with open(os.path.join(out, want["trace"])) as f:
            trace = [json.loads(line) for line in f]
        assert [e["t"] for e in got["events"]] == [e["t"] for e in trace]
        assert [e["ev"] for e in got["events"]] == [e["ev"] for e in trace]
        attempts += sum(1 for e in got["events"] if e["ev"] == "attempt")
    assert attempts == sum(s["attempts"] for sc in doc["scenarios"] for s in sc["clients"])
    assert not [f for f in os.listdir(out) if f.startswith(".index.html")]


def test_anchor_ids_and_lazy_drawing(cli, browser, tmp_path):
    out = str(tmp_path / "out")
    doc = report_scale.generate(out, scenarios=40, attempts=400)
    index = report(cli, out)
    load(browser, index)
    ids = browser.execute_script(
        "return Array.from(document.querySelectorAll('section.pf-scenario')).map(function (s) { return s.id; })")
    assert ids == ["scenario-" + s["name"] for s in doc["scenarios"]]
    drawn = browser.execute_script("return document.querySelectorAll('svg.pf-tl').length")
    assert 0 < drawn < 40, "timelines should be drawn only for sections on screen"
    # Following a link opens and draws that section.
    last = doc["scenarios"][-2]["name"]
    browser.execute_script("location.hash = arguments[0]", "#scenario-" + last)
    wait_for(browser, "return document.getElementById(arguments[0]).querySelector('svg.pf-tl')", "scenario-" + last)
    # Zoom: the window inputs follow the buttons.
    sec = section(browser, last)
    before = browser.execute_script("return arguments[0].querySelector('.pf-toolbar input').value + '|' +"
                                    "arguments[0].querySelectorAll('.pf-toolbar input')[1].value", sec)
    browser.execute_script("arguments[0].querySelector('.pf-zoomin').click()", sec)
    after = browser.execute_script("return arguments[0].querySelector('.pf-toolbar input').value + '|' +"
                                   "arguments[0].querySelectorAll('.pf-toolbar input')[1].value", sec)
    assert before != after
    # Keyboard: the focused plot steps through its marks.
    from selenium.webdriver.common.keys import Keys
    browser.execute_script("arguments[0].querySelector('.pf-fit').click()", sec)
    plot = browser.execute_script("return arguments[0].querySelector('svg.pf-tl')", sec)
    browser.execute_script("arguments[0].focus()", plot)
    plot.send_keys(Keys.ARROW_RIGHT)
    first = browser.execute_script("return arguments[0].querySelector('.pf-detailpanel h4').textContent", sec)
    plot.send_keys(Keys.ARROW_RIGHT)
    second = browser.execute_script("return arguments[0].querySelector('.pf-detailpanel h4').textContent", sec)
    assert first and second and first != second
    assert console_errors(browser) == []


def test_report_errors_name_the_file(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run([cli, "report", str(out)], capture_output=True, text=True)
    assert proc.returncode != 0 and "results.json" in proc.stderr

    (out / "results.json").write_text('{"schema": 1,\n "scenarios": [\n  {"name": "x",}\n]}\n')
    (out / "index.html").write_text("previous report")
    proc = subprocess.run([cli, "report", str(out)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert str(out / "results.json") in proc.stderr and "line 3" in proc.stderr
    assert (out / "index.html").read_text() == "previous report", "a failed write must keep the old report"
    assert not [f for f in os.listdir(out) if f.startswith(".index.html")]


def test_damaged_trace_becomes_a_note(cli, tmp_path):
    out = str(tmp_path / "out")
    doc = report_scale.generate(out, scenarios=3, attempts=30)
    first, second = doc["scenarios"][0], doc["scenarios"][1]
    with open(os.path.join(out, first["trace"]), "a") as f:
        f.write('{"t": 5, "ev": "attem')          # a harness killed mid-line
    os.unlink(os.path.join(out, second["trace"]))
    index = report(cli, out)
    _, data = embedded_data(index)
    notes0, notes1 = data["scenarios"][0]["report_notes"], data["scenarios"][1]["report_notes"]
    assert any("not trace events" in n for n in notes0)
    assert any("cannot read the trace" in n and second["trace"] in n for n in notes1)


def test_sparse_and_odd_inputs_draw_without_errors(cli, browser, tmp_path):
    """Optional fields missing or null, a win32 scenario with lineage, events the
    page does not know: every section still draws, without script errors."""
    out = tmp_path / "out"
    (out / "w").mkdir(parents=True)
    (out / "bare").mkdir()
    win_trace = [
        {"t": 0, "ev": "scenario_start", "src": "harness", "name": "w", "platform": "win32"},
        {"t": 50, "ev": "instance_birth", "src": "win-agent", "id": 1, "endpoint": "\\\\.\\pipe\\p", "key": "h1",
         "perm": {"sddl": "D:P(A;;GA;;;SY)", "owner": None, "normalised": "D:P(A;;FA;;;SY)"}, "evidence": "win-agent",
         "created_name": True, "instance_count": 1, "handle": "0x104"},
        {"t": 60, "ev": "fault", "src": "win-agent", "op": "close", "action": "hold", "rule": 0, "decision": "held"},
        {"t": 70, "ev": "something_new", "src": "harness"},
        {"t": 900, "ev": "instance_removed", "src": "win-agent", "id": 1, "evidence": "win-agent"},
        {"t": 1000, "ev": "instance_birth", "src": "win-agent", "id": 2, "endpoint": "\\\\.\\pipe\\p",
         "perm": {"sddl": "", "normalised": ""}, "evidence": "win-agent"},
        {"t": 1100, "ev": "attempt", "client": "alice#1", "account": "alice", "outcome": "ERROR_PIPE_BUSY",
         "errno": 231, "t_end": None, "instance": None},
    ]
    (out / "w" / "trace.jsonl").write_text("".join(json.dumps(e) + "\n" for e in win_trace))
    (out / "bare" / "trace.jsonl").write_text("")
    results = {"schema": 1, "run": {"id": "x"}, "scenarios": [
        {"name": "w", "platform": "win32", "verdict": "fail", "trace": "w/trace.jsonl",
         "expectations": [{"id": "birth_intended", "held": False, "detail": None}],
         "instances": [
             {"id": 1, "endpoint": "\\\\.\\pipe\\p", "born_ns": 50, "removed_ns": 900,
              "birth": {"sddl": "D:P(A;;GA;;;SY)"}, "birth_class": "intended", "history": None,
              "lineage": {"from": None, "kind": "explicit"}, "admitted": None},
             {"id": 2, "endpoint": "\\\\.\\pipe\\p", "born_ns": 1000, "removed_ns": None,
              "birth": {"sddl": ""}, "birth_class": "default", "class_at_first_accept": None,
              "lineage": {"from": 1, "kind": "default"}}]},
        {"name": "bare", "trace": "bare/trace.jsonl"},
        {"name": "escape-attempt", "verdict": "error", "trace": "../../etc/passwd"},
        {"name": "no-trace", "verdict": "skipped", "reason": "win32 backend unavailable", "trace": None},
    ]}
    (out / "results.json").write_text(json.dumps(results))
    index = report(cli, str(out))
    _, data = embedded_data(index)
    assert any("not inside the output directory" in n for n in data["scenarios"][2]["report_notes"])
    assert [e["ev"] for e in data["scenarios"][0]["events"]].count("something_new") == 0
    load(browser, index)
    browser.execute_script("""document.querySelectorAll('section.pf-scenario details').forEach(
        function (d) { d.open = true; });""")
    wait_for(browser, "return document.querySelectorAll('section.pf-scenario svg.pf-tl').length === 4")
    w = section(browser, "w")
    classes = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('.pf-link')).map(function (b) {"
        " return b.getAttribute('data-class') + ':' + b.textContent; })", w)
    assert classes[0].startswith("intended:") and "explicitly" in classes[0]
    assert classes[1].startswith("default:") and "chain broke" in classes[1]
    assert console_errors(browser) == []


def test_huge_trace_is_capped_with_a_note(cli, tmp_path):
    """A server accepting in a tight loop must not make a report nobody can open:
    attempts and syscalls past the per-scenario limit are left out, and counted."""
    out = str(tmp_path / "out")
    doc = report_scale.generate(out, scenarios=1, attempts=25000)
    with open(os.path.join(out, doc["scenarios"][0]["trace"])) as f:
        trace = [json.loads(line) for line in f]
    bulk = sum(1 for e in trace if e["ev"] in ("attempt", "syscall"))
    index = report(cli, out)
    _, data = embedded_data(index)
    events = data["scenarios"][0]["events"]
    kept = sum(1 for e in events if e["ev"] in ("attempt", "syscall"))
    assert kept == 20000
    assert sum(1 for e in events if e["ev"].startswith("instance_")) == \
        sum(1 for e in trace if e["ev"].startswith("instance_"))
    assert any(f"{bulk - kept} attempt/syscall events left out" in n for n in data["scenarios"][0]["report_notes"])


def test_inconclusive_vacuous_warnings_and_attribution(cli, browser, tmp_path):
    """An inconclusive scenario has its own badge and count, its reason in the
    overview; a vacuous expectation, an unfired-fault warning and the
    checker's attribution of an attempt are shown as such."""
    out = tmp_path / "out"
    (out / "v").mkdir(parents=True)
    trace = [
        {"t": 0, "ev": "scenario_start", "src": "harness", "name": "v", "platform": "linux"},
        {"t": 10, "ev": "instance_birth", "src": "observer", "id": 1, "endpoint": "/x/s", "key": "1:2",
         "perm": {"mode": "0660"}, "evidence": "syscall"},
        {"t": 20, "ev": "attempt", "client": "mallory#1", "account": "mallory", "outcome": "EACCES",
         "t_end": 25, "instance": None},
    ]
    (out / "v" / "trace.jsonl").write_text("".join(json.dumps(e) + "\n" for e in trace))
    reason = "not judged: others_never_admitted: no attempt of mallory reached a live, accepting instance"
    results = {"schema": 1, "run": {"id": "x"}, "summary": {"pass": 0, "fail": 0, "error": 0, "skipped": 0,
                                                           "inconclusive": 1},
               "scenarios": [{
        "name": "v", "platform": "linux", "verdict": "inconclusive", "reason": reason, "trace": "v/trace.jsonl",
        "expectations": [{"id": "others_never_admitted", "text": "others never admitted", "held": None,
                          "status": "vacuous", "reason": "no attempt of mallory reached",
                          "detail": "no attempt of mallory reached"}],
        "instances": [{"id": 1, "endpoint": "/x/s", "born_ns": 10, "birth": {"mode": "0660"},
                       "birth_class": "intended", "history": []}],
        "attempts": [{"client": "mallory#1", "account": "mallory", "t": 20, "outcome": "EACCES",
                      "instance": 1, "attribution": "only-instance", "reached": False}],
        "warnings": [{"kind": "fault_never_fired", "text": "fault rule 0 (hold before secure, v.yaml:9:5) never fired"}],
    }]}
    (out / "results.json").write_text(json.dumps(results))
    index = report(cli, str(out))
    _, data = embedded_data(index)
    sc = data["scenarios"][0]
    att = [e for e in sc["events"] if e["ev"] == "attempt"][0]
    assert att["instance"] == 1 and att["attribution"] == "only-instance"
    assert "attempts" not in sc
    load(browser, index)
    wait_for(browser, "return document.querySelectorAll('section.pf-scenario svg.pf-tl').length === 1")
    assert browser.execute_script(
        "return document.querySelector('#pf-counts [data-verdict=inconclusive] b').textContent") == "1"
    row = browser.execute_script("return document.querySelector('#pf-overview-table tbody tr .pf-what').textContent")
    assert row.startswith("inconclusive: not judged")
    v = section(browser, "v")
    li = browser.execute_script("return arguments[0].querySelector('.pf-expect li')", v)
    assert li.get_attribute("class") == "vacuous" and "vacuous" in li.text
    warns = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('.pf-warnings li')).map(function (l) { return l.textContent; })", v)
    assert warns == ["fault rule 0 (hold before secure, v.yaml:9:5) never fired"]
    assert console_errors(browser) == []


def test_attempt_details_show_the_protocol_and_the_reply(cli, browser, tmp_path):
    """A real run with a client-speaks-first server: an attempt's details
    show its client's protocol, the bytes it sent and expected, and the
    reply as the trace has it; the clients table shows the protocols and
    the replies counted. The bytes hold markup, which must stay text."""
    from test_protocol import scenario as protocol_scenario
    sent, expected = "<i>hi</i>\r\n", "<i>hi</i>"
    path = protocol_scenario(tmp_path, "proto-report", "echo",
                             "- {account: alice, attempts: 3, interval: 1ms, until: accepting,\n"
                             "   protocol: send, send: \"<i>hi</i>\\r\\n\", expect: \"<i>hi</i>\"}\n"
                             "- {account: bob, attempts: 3, interval: 1ms, until: accepting,\n"
                             "   protocol: connect}\n",
                             accounts="  - {name: alice, allowed: true}\n"
                                      "  - {name: bob, allowed: true}\n")
    out = str(tmp_path / "out")
    proc = subprocess.run([cli, "run", "--out", out, path], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(out, "results.json")) as f:
        sc = json.load(f)["scenarios"][0]
    # results.json: each account's protocols, and each attempt's reply.
    assert [(c["account"], c["user"][-len(c["account"]) - 1:]) for c in sc["clients"]] == \
        [("alice", "_alice"), ("bob", "_bob")]   # the real names, pf<run>_NAME
    protos = {c["account"]: c["protocols"] for c in sc["clients"]}
    assert protos["alice"] == [{"clients": ["alice#1"], "protocol": "send", "send": sent,
                                "expect": expected, "read_timeout_ns": 1000000000}]
    assert protos["bob"] == [{"clients": ["bob#1"], "protocol": "connect"}]
    alice_ok = [a for a in sc["attempts"] if a["account"] == "alice" and a["outcome"] == "ok"]
    assert alice_ok and all(a["protocol"] == "send" and a["reply"] == "matched" and
                            a["reply_head"] == expected for a in alice_ok), sc["attempts"]
    assert all(a["protocol"] == "connect" and a["reply"] == "none" and "reply_head" not in a
               for a in sc["attempts"] if a["account"] == "bob")

    index = os.path.join(out, "index.html")
    load(browser, index, "#scenario-proto-report")
    sec = section(browser, "proto-report")
    details = {}
    for client in ("alice#1", "bob#1"):
        mark = wait_for(browser, "return arguments[0].querySelector("
                        "'svg .pf-attempt[data-outcome=\"ok\"][data-client=\"' + arguments[1] + '\"]')",
                        sec, client)
        browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))",
                               mark)
        details[client] = browser.execute_script("""
            var dl = arguments[0].querySelector('.pf-detailpanel dl.pf-protocol'), r = {};
            if (!dl) return null;
            dl.querySelectorAll('dt').forEach(function (dt) {
              r[dt.textContent] = dt.nextElementSibling.textContent; });
            return r;""", sec)
    alice = details["alice#1"]
    assert alice is not None, "no protocol details in the attempt's panel"
    assert alice["protocol"] == "send" and alice["reply"] == "matched", alice
    assert alice["sent"] == "<i>hi</i>\\x0d\\x0a" and alice["expected"] == expected, alice
    assert alice["reply head"] == expected and alice["read timeout"], alice
    bob = details["bob#1"]
    assert bob["protocol"] == "connect" and bob["reply"] == "none", bob
    assert "sent" not in bob and "reply head" not in bob, bob
    table = browser.execute_script(
        "return arguments[0].querySelector('table.pf-clients').textContent", sec)
    assert "send <i>hi</i>\\x0d\\x0a, expect <i>hi</i>" in table and "matched" in table, table
    # The markup in the bytes stayed text.
    assert browser.execute_script("return document.querySelectorAll('i').length") == 0
    assert console_errors(browser) == []
    assert browser.execute_script("return window.__pfAlerts") == []
