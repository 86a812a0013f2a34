"""dist_info.py - stages the pytest plugin as an installed Python distribution.

Run on every build (harness/CMakeLists.txt, target pf_python) after
cmake/version.cmake has written the build's version. Writes OUT/pipefault/
(the plugin package, copied) and OUT/pipefault-<version>.dist-info/ with
METADATA, entry_points.txt (the pytest11 entry point, so pytest loads the
plugin without -p) and RECORD, the files `cmake --install` and the .deb put
into lib/python3/dist-packages. The version is PEP 440's form of pipefault's
own: the first '-' of `git describe` becomes '+', later ones '.'
(0.1.0-gabc1234-dirty -> 0.1.0+gabc1234.dirty). Only the standard library;
files are rewritten only when their content changes.
Usage: dist_info.py VERSION_FILE SRC_PACKAGE_DIR OUT_DIR
"""
import base64
import hashlib
import os
import shutil
import sys

MODULES = ("__init__.py", "pytest_plugin.py")


def pep440(version):
    public, _, local = version.partition("-")
    return public + ("+" + local.replace("-", ".") if local else "")


def write(path, data):
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return
    except FileNotFoundError:
        pass
    with open(path, "wb") as f:
        f.write(data)


def main(version_file, src, out):
    with open(version_file) as f:
        version = pep440(f.read().strip())
    info = f"pipefault-{version}.dist-info"
    os.makedirs(os.path.join(out, "pipefault"), exist_ok=True)
    # A build of another version left its dist-info: one version installed.
    for e in os.listdir(out):
        if e.endswith(".dist-info") and e != info:
            shutil.rmtree(os.path.join(out, e))
    os.makedirs(os.path.join(out, info), exist_ok=True)
    files = {}
    for m in MODULES:
        with open(os.path.join(src, m), "rb") as f:
            files[f"pipefault/{m}"] = f.read()
    files[f"{info}/METADATA"] = (
        "Metadata-Version: 2.1\n"
        "Name: pipefault\n"
        f"Version: {version}\n"
        "Summary: pytest plugin: pipefault scenario files as test items\n"
        "Requires-Python: >=3.9\n").encode()
    files[f"{info}/entry_points.txt"] = b"[pytest11]\npipefault = pipefault.pytest_plugin\n"
    files[f"{info}/INSTALLER"] = b"cmake\n"
    record = []
    for rel, data in files.items():
        write(os.path.join(out, rel), data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        record.append(f"{rel},sha256={digest.decode()},{len(data)}\n")
    record.append(f"{info}/RECORD,,\n")
    write(os.path.join(out, info, "RECORD"), "".join(record).encode())


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.rsplit("Usage: ", 1)[1])
    main(*sys.argv[1:])
