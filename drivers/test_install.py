"""pipefault installed like a tool: `cmake --install` into a temporary prefix
and the .deb unpacked into a scratch root each run the posix suite from
another directory, with the same verdicts as the build tree; the installed
binary finds its fixtures relative to itself (also after the prefix is
moved), and the package's Depends are satisfiable here."""
import json
import os
import re
import shutil
import subprocess

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
              "share/man/man1/pipefault.1", "share/man/man5/pipefault-scenario.5",
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
              "./usr/share/man/man1/pipefault.1", "./usr/share/man/man5/pipefault-scenario.5"]:
        assert f in files
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    rc, res = run_suite(os.path.join(root, "usr/bin/pipefault"),
                        os.path.join(root, "usr/share/pipefault/scenarios/posix"),
                        str(tmp_path / "out"), str(cwd))
    assert (rc, verdicts(res)) == reference
    assert_fixtures_from(res, os.path.join(root, "usr"))
    for page in ["usr/share/man/man1/pipefault.1", "usr/share/man/man5/pipefault-scenario.5"]:
        proc = subprocess.run(["man", "--warnings=all", "-l", os.path.join(root, page)],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert "SEE ALSO" in proc.stdout


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
