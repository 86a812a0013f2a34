"""pipefault installed like a tool: `cmake --install` into a temporary prefix
and the .deb unpacked into a scratch root each run the posix suite from
another directory, with the same verdicts as the build tree; the installed
binary finds its fixtures relative to itself (also after the prefix is
moved), the installed pytest plugin is loaded by its pytest11 entry point
(no -p) with the CLI's verdicts, the package's Depends are satisfiable here
and lintian finds no error in it."""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

SUITE = os.path.join(ROOT, "scenarios", "posix")


@pytest.fixture(scope="module")
def build(pipefault):
    d = os.path.dirname(os.path.dirname(pipefault))
    if not os.path.exists(os.path.join(d, "CMakeCache.txt")):
        pytest.skip(f"{pipefault} is not in a build tree")
    return d


def run_suite(binary, suite, out, cwd):
    proc = subprocess.run([binary, "run", "--out", out, "--seed", "1", suite],
                          capture_output=True, text=True, timeout=900, cwd=cwd)
    path = os.path.join(out, "results.json")
    assert os.path.exists(path), proc.stderr
    res = json.load(open(path))
    return proc.returncode, res


def verdicts(res):
    return {s["name"]: s["verdict"] for s in res["scenarios"]}


@pytest.fixture(scope="module")
def reference(pipefault, tmp_path_factory):
    """The build tree's verdicts for the posix suite."""
    out = str(tmp_path_factory.mktemp("ref") / "out")
    rc, res = run_suite(pipefault, SUITE, out, ROOT)
    v = verdicts(res)
    assert len(v) == len([f for f in os.listdir(SUITE) if f.endswith(".yaml")])
    # The suite holds buggy servers on purpose: both verdicts occur.
    assert "pass" in v.values() and "fail" in v.values(), v
    return rc, v


def assert_fixtures_from(res, prefix):
    """Every fixture server of the run was started from under `prefix`."""
    argv0 = [s["server"]["argv"][0] for s in res["scenarios"] if s.get("server")]
    assert argv0, "no server was started"
    for a in argv0:
        assert a.startswith(prefix + "/"), (a, prefix)


@pytest.fixture(scope="module")
def prefix(build, tmp_path_factory):
    p = str(tmp_path_factory.mktemp("install") / "prefix")
    proc = subprocess.run(["cmake", "--install", build, "--prefix", p],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return p


def test_install_lays_out_binary_helpers_docs_and_man_pages(prefix, build):
    for f in ["bin/pipefault",
              "libexec/pipefault/fixtures/posix/chmod_after_listen",
              "libexec/pipefault/fixtures/posix/chmod_after_listen_static",
              "libexec/pipefault/fixtures/posix/py_chmod_after_listen",
              "share/man/man1/pipefault.1.gz", "share/man/man5/pipefault-scenario.5.gz",
              "share/doc/pipefault/copyright", "share/doc/pipefault/changelog.gz",
              "share/doc/pipefault/README.md", "share/doc/pipefault/scenario-format.md",
              "share/doc/pipefault/install.md", "share/doc/pipefault/pytest.md",
              "share/pipefault/scenarios/posix/chmod-after-listen.yaml",
              "lib/python3/dist-packages/pipefault/pytest_plugin.py"]:
        assert os.path.exists(os.path.join(prefix, f)), f
    assert os.access(os.path.join(prefix, "bin/pipefault"), os.X_OK)
    # The Win32 programs, when this build made them.
    for f in ["pfagent.dll", "launch.exe", "client.exe", "probe.exe"]:
        if os.path.exists(os.path.join(build, "win32", f)):
            assert os.path.exists(os.path.join(prefix, "libexec/pipefault/win32", f)), f
    # Nothing of the build machinery came along.
    assert not os.path.exists(os.path.join(prefix, "libexec/pipefault/fixtures/posix/Makefile"))


def test_no_build_or_source_path_is_compiled_in(prefix, build, tmp_path):
    # The program's constant data (its strings), not the debug information,
    # which records where it was compiled.
    if not shutil.which("objcopy"):
        pytest.skip("objcopy is not installed (binutils)")
    ro = tmp_path / "rodata"
    subprocess.run(["objcopy", "-O", "binary", "--only-section=.rodata",
                    os.path.join(prefix, "bin/pipefault"), str(ro)], check=True)
    data = ro.read_bytes()
    assert len(data) > 10000   # the help texts and the report template are there
    assert b"usage: pipefault" in data
    for path in {os.path.realpath(build), os.path.realpath(ROOT)}:
        assert path.encode() not in data, path


def test_version_is_the_same_installed_and_in_the_build(prefix, pipefault):
    built = subprocess.run([pipefault, "--version"], capture_output=True, text=True).stdout
    installed = subprocess.run([os.path.join(prefix, "bin/pipefault"), "version"],
                               capture_output=True, text=True).stdout
    assert re.fullmatch(r"pipefault [0-9][0-9A-Za-z.+~-]*\n", built), built
    assert installed == built


def test_installed_runs_the_posix_suite_from_another_directory(prefix, reference, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    rc, res = run_suite(os.path.join(prefix, "bin/pipefault"),
                        os.path.join(prefix, "share/pipefault/scenarios/posix"),
                        str(tmp_path / "out"), str(cwd))
    assert (rc, verdicts(res)) == reference
    assert_fixtures_from(res, prefix)
    assert os.listdir(cwd) == []   # --out given: nothing written in the working directory


def test_a_moved_prefix_still_finds_its_fixtures(prefix, reference, tmp_path):
    moved = str(tmp_path / "moved")
    shutil.copytree(prefix, moved, symlinks=True)
    rc, res = run_suite(os.path.join(moved, "bin/pipefault"), SUITE, str(tmp_path / "out"),
                        str(tmp_path))
    assert (rc, verdicts(res)) == reference
    assert_fixtures_from(res, moved)


def test_helpers_in_a_directory_others_can_write_are_refused(prefix, tmp_path):
    bad = str(tmp_path / "bad")
    shutil.copytree(prefix, bad, symlinks=True)
    os.chmod(os.path.join(bad, "libexec"), 0o777)
    proc = subprocess.run([os.path.join(bad, "bin/pipefault"), "run", "--out",
                           str(tmp_path / "out"), os.path.join(SUITE, "chmod-after-listen.yaml")],
                          capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert proc.returncode == 3, proc.stderr
    assert os.path.join(bad, "libexec") in proc.stderr and "0777" in proc.stderr


def test_a_binary_without_its_helpers_says_where_it_looked(prefix, tmp_path):
    lone = tmp_path / "lone" / "bin"
    lone.mkdir(parents=True)
    shutil.copy2(os.path.join(prefix, "bin/pipefault"), lone / "pipefault")
    proc = subprocess.run([str(lone / "pipefault"), "run", "--out", str(tmp_path / "out"),
                           os.path.join(SUITE, "chmod-after-listen.yaml")],
                          capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert proc.returncode == 3, proc.stderr
    assert str(tmp_path / "lone" / "libexec" / "pipefault") in proc.stderr


# ---- the Debian package --------------------------------------------------

@pytest.fixture(scope="module")
def deb(build, pipefault, tmp_path_factory):
    if not shutil.which("cpack") or not shutil.which("dpkg-deb"):
        pytest.skip("cpack or dpkg-deb is not installed")
    d = tmp_path_factory.mktemp("deb")
    proc = subprocess.run(["cpack", "-G", "DEB", "--config",
                           os.path.join(build, "CPackConfig.cmake"), "-B", str(d)],
                          capture_output=True, text=True, timeout=600, cwd=str(d))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = subprocess.run([pipefault, "--version"], capture_output=True,
                             text=True).stdout.split()[1]
    path = d / f"pipefault_{version.replace('-', '+')}_amd64.deb"
    assert path.exists(), sorted(os.listdir(d))
    return str(path)


def field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True,
                          text=True).stdout.strip()


def satisfied(dep):
    """Whether one alternative "pkg (>= 1.2)" is installed here."""
    m = re.fullmatch(r"([a-z0-9.+-]+)(?::any)?(?:\s*\((<<|<=|=|>=|>>)\s*([^)]+)\))?", dep.strip())
    assert m, dep
    q = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", m.group(1)],
                       capture_output=True, text=True)
    if q.returncode != 0 or not q.stdout.startswith("install ok installed"):
        return False
    if not m.group(2):
        return True
    installed = q.stdout.split()[-1]
    op = {"<<": "lt", "<=": "le", "=": "eq", ">=": "ge", ">>": "gt"}[m.group(2)]
    return subprocess.run(["dpkg", "--compare-versions", installed, op,
                           m.group(3).strip()]).returncode == 0


def test_deb_depends_names_the_libraries_and_is_satisfiable_here(deb):
    assert field(deb, "Package") == "pipefault"
    assert field(deb, "Architecture") == "amd64"
    depends = field(deb, "Depends")
    names = {re.split(r"[\s(:]", alt.strip())[0]
             for d in depends.split(",") for alt in d.split("|")}
    # What the binary and fixtures link (dpkg-shlibdeps) and the shadow tools.
    for want in ["libc6", "libyaml-0-2", "libjson-c5", "libseccomp2", "libacl1", "passwd"]:
        assert want in names, depends
    unmet = [d for d in depends.split(",") if not any(satisfied(a) for a in d.split("|"))]
    assert unmet == [], depends


def test_deb_unpacked_runs_the_posix_suite(deb, reference, tmp_path):
    root = str(tmp_path / "root")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
    for f in ["./usr/bin/pipefault", "./usr/libexec/pipefault/fixtures/posix/umask_bind",
              "./usr/share/man/man1/pipefault.1.gz",
              "./usr/share/man/man5/pipefault-scenario.5.gz",
              "./usr/share/doc/pipefault/copyright"]:
        assert f in files
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    rc, res = run_suite(os.path.join(root, "usr/bin/pipefault"),
                        os.path.join(root, "usr/share/pipefault/scenarios/posix"),
                        str(tmp_path / "out"), str(cwd))
    assert (rc, verdicts(res)) == reference
    assert_fixtures_from(res, os.path.join(root, "usr"))
    for page in ["usr/share/man/man1/pipefault.1.gz",
                 "usr/share/man/man5/pipefault-scenario.5.gz"]:
        proc = subprocess.run(["man", "--warnings=all", "-l", os.path.join(root, page)],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert "SEE ALSO" in proc.stdout


def test_lintian_reports_no_error_on_the_deb(deb):
    """Errors are fixed, not overridden in bulk: the overrides shipped
    (cmake/debian/lintian-overrides) name single files with their reason."""
    if not shutil.which("lintian"):
        pytest.skip("lintian is not installed (tools/deps.sh installs it)")
    proc = subprocess.run(["lintian", "--no-tag-display-limit", deb], capture_output=True,
                          text=True, timeout=600)
    tags = [line for line in proc.stdout.splitlines() if re.match(r"[EWIPXCO]: ", line)]
    assert not [t for t in tags if t.startswith("E: ")], proc.stdout + proc.stderr
    assert "no-copyright-file" not in proc.stdout and "no-changelog" not in proc.stdout


def test_deb_copyright_is_machine_readable(deb, tmp_path):
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", deb, str(root)], check=True)
    text = (root / "usr/share/doc/pipefault/copyright").read_text()
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    assert paragraphs[0].startswith(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
    assert "Upstream-Name: pipefault" in paragraphs[0]
    files = [p for p in paragraphs if p.startswith("Files: ")]
    assert files and all("\nCopyright: " in p and "\nLicense: " in p for p in files)
    # The changelog names the package's own version.
    log = subprocess.run(["zcat", str(root / "usr/share/doc/pipefault/changelog.gz")],
                         capture_output=True, text=True, check=True).stdout
    assert log.startswith(f"pipefault ({field(deb, 'Version')}) "), log


# ---- the pytest plugin, loaded by its entry point --------------------------

def run_pytest_without_p(site, binary, suite, tmp_path):
    """/usr/bin/python3 -m pytest on the installed suite with only the
    installed site directory on PYTHONPATH, from an empty directory, and no
    -p: the plugin has to come from the pytest11 entry point."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST"))}
    env["PYTHONPATH"] = site
    proc = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider",
                           "--pipefault-bin", binary, "--pipefault-out", str(tmp_path / "stores"),
                           "--pipefault-seed", "1", f"--junitxml={junit}", suite],
                          capture_output=True, text=True, timeout=900, cwd=str(cwd), env=env)
    assert junit.exists(), proc.stdout + proc.stderr
    cases = {}
    for tc in ET.parse(junit).getroot().iter("testcase"):
        kinds = [c.tag for c in tc if c.tag in ("failure", "error", "skipped")]
        cases[tc.get("name")] = kinds[0] if kinds else "passed"
    return proc, cases


def assert_plugin_gives_cli_verdicts(proc, cases, reference, version):
    # pytest names plugins it loaded from entry points, with their version.
    m = re.search(r"^plugins: (.*)$", proc.stdout, re.M)
    assert m and f"pipefault-{version}" in m.group(1).split(", "), proc.stdout
    _, ref = reference
    assert set(cases) == set(ref), proc.stdout
    for name, verdict in ref.items():
        want = ("failure" if verdict in ("fail", "inconclusive", "error")
                else "skipped" if verdict == "skipped" else "passed")
        assert cases[name] == want, (name, verdict, cases[name])
    assert proc.returncode == 1   # the suite's buggy servers fail


def pep440(version):
    public, _, local = version.partition("-")
    return public + ("+" + local.replace("-", ".") if local else "")


def test_installed_plugin_loads_by_entry_point(prefix, reference, pipefault, tmp_path):
    site = os.path.join(prefix, "lib/python3/dist-packages")
    version = subprocess.run([pipefault, "--version"], capture_output=True,
                             text=True).stdout.split()[1]
    info = os.path.join(site, f"pipefault-{pep440(version)}.dist-info")
    with open(os.path.join(info, "entry_points.txt")) as f:
        assert f.read() == "[pytest11]\npipefault = pipefault.pytest_plugin\n"
    with open(os.path.join(info, "METADATA")) as f:
        meta = f.read()
    assert "\nName: pipefault\n" in meta and f"\nVersion: {pep440(version)}\n" in meta
    # RECORD names every installed file with its hash and size (pip reads
    # it to uninstall or upgrade), RECORD itself without.
    with open(os.path.join(info, "RECORD")) as f:
        record = [line.rstrip("\n").split(",") for line in f]
    assert {"pipefault/__init__.py", "pipefault/pytest_plugin.py"} <= {r[0] for r in record}
    for rel, digest, size in record:
        if rel.endswith("/RECORD"):
            assert (digest, size) == ("", "")
            continue
        with open(os.path.join(site, rel), "rb") as f:
            data = f.read()
        want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, size) == (f"sha256={want}", str(len(data))), rel
    proc, cases = run_pytest_without_p(site, os.path.join(prefix, "bin/pipefault"),
                                       os.path.join(prefix, "share/pipefault/scenarios/posix"),
                                       tmp_path)
    assert_plugin_gives_cli_verdicts(proc, cases, reference, pep440(version))


def test_deb_plugin_loads_by_entry_point(deb, reference, pipefault, tmp_path):
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", deb, str(root)], check=True)
    # Installed, the package is in /usr/lib/python3/dist-packages, which
    # Debian's python3 searches without PYTHONPATH.
    path = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.path)"],
                          capture_output=True, text=True, env={}).stdout
    assert "'/usr/lib/python3/dist-packages'" in path, path
    version = subprocess.run([pipefault, "--version"], capture_output=True,
                             text=True).stdout.split()[1]
    proc, cases = run_pytest_without_p(str(root / "usr/lib/python3/dist-packages"),
                                       str(root / "usr/bin/pipefault"),
                                       str(root / "usr/share/pipefault/scenarios/posix"),
                                       tmp_path)
    assert_plugin_gives_cli_verdicts(proc, cases, reference, pep440(version))


def test_installed_runs_the_win32_seed_suite(prefix, build, pipefault, tmp_path):
    """The Win32 programs are found in libexec/pipefault/win32 too."""
    if not shutil.which("wine") or not os.path.exists(os.path.join(build, "win32",
                                                                   "pfagent.dll")):
        pytest.skip("Wine or the Win32 parts are missing")
    seed = os.path.join(ROOT, "scenarios", "seed")
    ref_rc, ref = run_suite(pipefault, seed, str(tmp_path / "ref"), ROOT)
    assert "skipped" not in verdicts(ref).values(), verdicts(ref)
    rc, res = run_suite(os.path.join(prefix, "bin/pipefault"), seed, str(tmp_path / "out"),
                        str(tmp_path))
    assert (rc, verdicts(res)) == (ref_rc, verdicts(ref))
