"""pytest plugin: pipefault scenario files as pytest test items.

Installed (``<prefix>/lib/python3/dist-packages``), pytest loads it by its
pytest11 entry point; from a checkout, load it with
``-p pipefault.pytest_plugin`` and ``drivers/`` on PYTHONPATH (see
docs/pytest.md). Every YAML file that pytest is pointed at and that is a
scenario (it has the top-level keys ``name``, ``server`` and ``expect``)
becomes one test item named after its scenario, so pytest's own selection
(``-k``, ``--deselect``), reporting (``--junitxml``) and distribution
(xdist) apply. Each item runs ``pipefault run --out DIR FILE`` on its file
alone and maps the scenario's verdict: pass -> passed, skipped -> skipped
(with the reason), fail / inconclusive / error -> failed, showing the
expectations that did not hold in plain words, as results.json gives them.
The verdicts are pipefault's: nothing here judges a run.
"""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

# A scenario file has these top-level keys (docs/scenario-format.md); other
# YAML files (CI configurations, ...) are left to other plugins.
_REQUIRED_KEYS = ("name", "server", "expect")
_TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:")


def pytest_addoption(parser):
    group = parser.getgroup("pipefault", "pipefault scenario files")
    group.addoption("--pipefault-bin", default=None, metavar="PATH",
                    help="the pipefault binary (default: $PIPEFAULT, else pipefault on PATH)")
    group.addoption("--pipefault-out", default=None, metavar="DIR",
                    help="where each scenario's store is written, as DIR/<scenario> "
                         "(default: out/pytest-<time> in the working directory)")
    group.addoption("--pipefault-seed", default=None, type=int, metavar="N",
                    help="seed passed to every run (default: one random seed per session)")
    group.addoption("--pipefault-timeout", default=600, type=float, metavar="SECONDS",
                    help="kill a scenario's pipefault run after this long (default 600)")


def _binary(config):
    path = config.getoption("pipefault_bin") or os.environ.get("PIPEFAULT") or \
        shutil.which("pipefault")
    if not path:
        raise pytest.UsageError("pipefault.pytest_plugin: no pipefault binary: pass "
                                "--pipefault-bin PATH, set PIPEFAULT, or put pipefault on PATH")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise pytest.UsageError(f"pipefault.pytest_plugin: {path} is not executable")
    return path


def pytest_configure(config):
    # An xdist worker takes the controller's seed and store directory, so
    # that a distributed session is one seed and one place.
    given = getattr(config, "workerinput", {})
    seed = given.get("pipefault_seed", config.getoption("pipefault_seed"))
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    config._pipefault_seed = seed
    out = given.get("pipefault_out", config.getoption("pipefault_out"))
    if out is None:
        out = os.path.join("out", time.strftime("pytest-%Y%m%d-%H%M%S"))
    config._pipefault_out = os.path.abspath(out)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist (controller side): what each worker is started with."""
    node.workerinput["pipefault_seed"] = node.config._pipefault_seed
    node.workerinput["pipefault_out"] = node.config._pipefault_out


def pytest_report_header(config):
    return (f"pipefault: seed {config._pipefault_seed} (--pipefault-seed), "
            f"stores in {config._pipefault_out}")


def scenario_name(path):
    """The scenario's name if `path` looks like a scenario file, else None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return None
    keys, name = set(), None
    for line in text.splitlines():
        m = _TOP_KEY.match(line)
        if not m:
            continue
        keys.add(m.group(1))
        if m.group(1) == "name" and name is None:
            name = line.split(":", 1)[1].split("#", 1)[0].strip().strip("'\"")
    if not all(k in keys for k in _REQUIRED_KEYS):
        return None
    return name or os.path.splitext(os.path.basename(path))[0]


def pytest_collect_file(file_path, parent):
    if file_path.suffix in (".yaml", ".yml"):
        name = scenario_name(str(file_path))
        if name is not None:
            return ScenarioFile.from_parent(parent, path=file_path, scenario=name)
    return None


class ScenarioFile(pytest.File):
    def __init__(self, *, scenario, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario

    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.scenario)


class ScenarioFailed(Exception):
    """A scenario whose verdict is fail, inconclusive or error, or a run that
    gave no verdict; the message is the plain-words account."""


class ScenarioItem(pytest.Item):
    def runtest(self):
        config = self.config
        out = os.path.join(config._pipefault_out, self.name)
        cmd = [_binary(config), "run", "--out", out,
               "--seed", str(config._pipefault_seed), str(self.path)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                                  timeout=config.getoption("pipefault_timeout"))
        except subprocess.TimeoutExpired:
            raise ScenarioFailed(f"pipefault run did not finish within "
                                 f"{config.getoption('pipefault_timeout')} s: {' '.join(cmd)}")
        self.user_properties.append(("pipefault_store", out))
        results = os.path.join(out, "results.json")
        scenario = None
        if os.path.exists(results):
            with open(results, encoding="utf-8") as f:
                for s in json.load(f).get("scenarios", []):
                    if s.get("name") == self.name:
                        scenario = s
        if scenario is None:
            raise ScenarioFailed(f"pipefault run exited {proc.returncode} without a verdict "
                                 f"for {self.name}\n$ {' '.join(cmd)}\n{proc.stderr.strip()}")
        verdict = scenario.get("verdict")
        self.user_properties.append(("pipefault_verdict", verdict))
        if verdict == "pass" and proc.returncode == 0:
            return
        if verdict == "skipped" and proc.returncode == 0:
            pytest.skip(f"pipefault: {scenario.get('reason') or 'skipped'}")
        raise ScenarioFailed(describe(scenario, proc.returncode, out, cmd))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"scenario {self.name}"


def describe(scenario, rc, out, cmd):
    """The failure text: the verdict, its reason, each expectation that did
    not hold with its plain-words detail, and where the report is."""
    lines = [f"{scenario.get('name')}: {scenario.get('verdict')} "
             f"(pipefault exit {rc}): {scenario.get('reason') or ''}".rstrip(": ")]
    for e in scenario.get("expectations", []):
        if e.get("held") is True:
            continue
        words = e.get("detail") or e.get("reason") or ""
        lines.append(f"  {e.get('id')} {e.get('status')}: {words}")
    if scenario.get("error"):
        lines.append(f"  error: {scenario['error']}")
    lines.append(f"report: {os.path.join(out, 'index.html')}")
    lines.append(f"reproduce: {' '.join(cmd)}")
    return "\n".join(lines)
