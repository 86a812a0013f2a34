"""The layout the README and docs/architecture.md describe is the code's.

Two rules keep the tree readable for a newcomer: the core (harness/src/*.c)
never names a platform -- only the backend table does -- and every module
has a name the README's layout paragraph lists, so the module for any step
is found by reading one paragraph. These tests fail when a file is added,
renamed or starts naming a platform without the docs following.
"""
import fnmatch
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "harness", "src")

# Which README word lists which folder's modules.
FOLDERS = {
    "harness/src": "harness/src",
    "harness/src/unix": "harness/src/unix",
    "harness/src/win": "harness/src/win",
    "harness/win32": "harness/win32",
}


def layout_paragraph():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index("Layout (")
    end = text.index("\n\n", start)
    return text[start:end]


def sections(paragraph):
    """Splits the paragraph at each `folder` it names: {folder: its text}."""
    marks = [(m.start(), m.group(1)) for m in re.finditer(r"`(harness/[a-z0-9/]+)`", paragraph)]
    out = {}
    for i, (pos, folder) in enumerate(marks):
        stop = marks[i + 1][0] if i + 1 < len(marks) else len(paragraph)
        out.setdefault(folder, "")
        out[folder] += paragraph[pos:stop]
    return out


def modules(folder):
    """Module names of a folder: each .c file's name without the suffix."""
    return sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(ROOT, folder, "*.c")))


def named(text):
    """Names in backticks, with .c/.h dropped; globs like scenario*.c kept."""
    return [re.sub(r"\.[ch]$", "", n) for n in re.findall(r"`([A-Za-z0-9_*.]+)`", text)]


def test_core_names_no_platform_but_the_backend_table():
    offenders = []
    for path in sorted(glob.glob(os.path.join(SRC, "*.[ch]"))):
        if os.path.basename(path) == "backends.c":
            continue
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            # A backend file or folder: "unix/client.c", "src/win", an include.
            if re.search(r"\b(unix|win)/\w+\.[ch]\b|src/(unix|win)\b|#\s*include\s+\"(unix|win)/", line):
                offenders.append(f"{os.path.relpath(path, ROOT)}:{n}: {line.strip()}")
    assert not offenders, "core files naming a platform path:\n" + "\n".join(offenders)


def test_every_module_is_in_the_readme_layout():
    secs = sections(layout_paragraph())
    missing = []
    for folder in FOLDERS.values():
        assert folder in secs, f"README's layout paragraph does not name `{folder}`"
        listed = named(secs[folder])
        for mod in modules(folder):
            if not any(fnmatch.fnmatch(mod, pat) for pat in listed):
                missing.append(f"{folder}/{mod}.c")
    assert not missing, "modules missing from README's layout paragraph:\n" + "\n".join(missing)


def test_every_name_in_the_readme_layout_exists():
    secs = sections(layout_paragraph())
    stale = []
    for folder in FOLDERS.values():
        have = modules(folder) + [os.path.basename(p)[:-2] for p in glob.glob(os.path.join(ROOT, folder, "*.h"))]
        for pat in named(secs[folder]):
            if "/" in pat or not any(fnmatch.fnmatch(m, pat) for m in have):
                stale.append(f"{folder}: `{pat}`")
    assert not stale, "names in README's layout paragraph with no such file:\n" + "\n".join(stale)


def test_every_source_file_says_why_at_the_top():
    bare = []
    for folder in FOLDERS.values():
        for path in sorted(glob.glob(os.path.join(ROOT, folder, "*.[ch]"))):
            head = open(path, encoding="utf-8").read(2)
            if head != "/*":
                bare.append(os.path.relpath(path, ROOT))
    assert not bare, "files not opening with a comment:\n" + "\n".join(bare)
