"""The verifier's comparison on a real file tree (no Docker): what counts as tampering, what is
derived or written by the gold's own test run, and bytecode that does not match its source."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import py_compile
import sys
import time

import pytest

from inversion.engine.runtime.integrity import VERIFY


@pytest.fixture(scope="module")
def verify():
    spec = importlib.util.spec_from_file_location("studio_verify", VERIFY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "testbed"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("def test_x():\n    assert True\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    py_compile.compile(str(root / "pkg" / "__init__.py"), doraise=True)
    return root


def _config(verify, root, **extra):
    entries, derived = verify.walk([str(root)])
    return {"roots": [str(root)], "entries": entries, "derived": derived, "volatile": [], "volatile_dirs": [],
            "interpreter": sys.executable, "interpreter_name": sys.executable, **extra}


def test_the_gold_itself_compares_clean(verify, tree):
    assert verify.compare(_config(verify, tree), {}) == []


def test_added_removed_changed_and_mode_are_each_named(verify, tree):
    config = _config(verify, tree)
    (tree / "pytest.py").write_text("import sys; sys.exit(0)\n")
    (tree / "tests" / "test_x.py").unlink()
    (tree / "pkg" / "__init__.py").write_text("VALUE = 2\n")
    (tree / "run.sh").chmod(0o644)
    assert verify.compare(config, {}) == [
        f"tampered: {tree}/tests/test_x.py removed",
        f"tampered: {tree}/pkg/__init__.py changed",
        f"tampered: {tree}/pytest.py added",
        f"tampered: {tree}/run.sh changed",
    ]


def test_what_the_gold_run_wrote_is_exempt_unless_it_could_run_code(verify, tree):
    config = _config(verify, tree, volatile=[f"{tree}/out.log"], volatile_dirs=[f"{tree}/results"])
    (tree / "out.log").write_text("a run wrote this")
    (tree / "results").mkdir()
    (tree / "results" / "r-123.json").write_text("{}")
    assert verify.compare(config, {}) == []
    (tree / "results" / "conftest.py").write_text("x = 1\n")
    (tree / "results" / "zz.pth").write_text("import os\n")
    assert verify.compare(config, {}) == [f"tampered: {tree}/results/conftest.py added",
                                          f"tampered: {tree}/results/zz.pth added"]


def test_regenerated_bytecode_is_fine_and_foreign_bytecode_is_tampering(verify, tree):
    config = _config(verify, tree)
    (pyc,) = (tree / "pkg" / "__pycache__").iterdir()
    pyc.unlink()
    py_compile.compile(str(tree / "pkg" / "__init__.py"), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    assert verify.compare(config, {}) == []  # other bytes, same code: what a repair's compileall makes
    header = pyc.read_bytes()[:16]
    pyc.write_bytes(header + __import__("marshal").dumps(compile("VALUE = 99\n", "x", "exec")))
    assert verify.compare(config, {}) == [f"tampered: {pyc} is bytecode that does not match its source"]
    (tree / "pkg" / "__pycache__" / "__init__.cpython-311-pytest-8.3.5.pyc").write_bytes(b"rewritten")
    pyc.unlink()
    assert verify.compare(config, {}) == []  # pytest's rewritten files are deleted before grading


def test_directories_the_environment_names_are_compared_too(verify, tree, tmp_path):
    shared = tmp_path / "shared"
    config = _config(verify, tree)
    config["roots"] = verify.roots_of(config, {"PYTHONPATH": str(shared)})
    assert str(shared) in config["roots"]
    shared.mkdir()
    (shared / "six.py").write_text("")
    assert verify.compare(config, {"PYTHONPATH": str(shared)}) == [f"tampered: {shared}/six.py added"]


def test_a_different_test_interpreter_on_path_is_tampering(verify, tree, tmp_path):
    config = _config(verify, tree, interpreter="/opt/venv/bin/python", interpreter_name="python")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text("#!/bin/sh\nexit 0\n")
    (fake / "python").chmod(0o755)
    lines = verify.compare(config, {"PATH": f"{fake}:{os.environ['PATH']}"})
    assert lines == [f"tampered: the test interpreter is {fake}/python (was /opt/venv/bin/python)"]


def test_the_walk_records_every_kind_of_entry_without_blocking_on_a_planted_fifo(verify, tree):
    """Files are hashed through one descriptor opened non-blocking and without following links: a
    FIFO or a link named like a module is recorded as what it is, never opened or followed."""
    os.mkfifo(tree / "pkg" / "helpers.py")
    (tree / "pkg" / "alias.py").symlink_to("__init__.py")
    entries, derived = verify.walk([str(tree)])
    assert entries[f"{tree}/pkg/helpers.py"] == "s:10000"
    assert entries[f"{tree}/pkg/alias.py"] == "l:__init__.py"
    assert entries[f"{tree}/run.sh"].endswith(":x") and entries[f"{tree}/tests/test_x.py"].endswith(":-")
    init = entries[f"{tree}/pkg/__init__.py"]
    assert init == f"f:{hashlib.sha256((tree / 'pkg' / '__init__.py').read_bytes()).hexdigest()[:16]}:-"
    assert [os.path.basename(p) for p in derived] == [f"__init__.{sys.implementation.cache_tag}.pyc"]


# ---- the fast walk: only what changed since the container started is read ----------------------------

def _fast(verify, root, monkeypatch, dirty=()):
    """The gold's config of `root` with a dirty list, and `since` a moment after it was made; the
    roots' ancestors (the test's tmp directories, which other tests touch) count as unchanged."""
    config = {**_config(verify, root), "dirty": list(dirty)}
    monkeypatch.setattr(verify, "_fresh_root", lambda path, since: verify._fresh(path, since))
    return config, _moment()


def _moment() -> float:
    """A `since` after what was made so far and before what comes next: file times come from the
    kernel's coarse clock, a tick (a few ms) behind time.time()."""
    time.sleep(0.1)
    return time.time() - 0.03


def _read_by(verify, monkeypatch) -> list[str]:
    read: list[str] = []
    real = verify._regular
    monkeypatch.setattr(verify, "_regular", lambda path: read.append(path) or real(path))
    return read


def test_the_fast_walk_reads_only_what_changed_and_finds_the_same(verify, tree, monkeypatch):
    (tree / "pkg" / "deep").mkdir()
    (tree / "pkg" / "deep" / "mod.py").write_text("X = 1\n")
    config, since = _fast(verify, tree, monkeypatch)
    read = _read_by(verify, monkeypatch)
    assert verify.compare(config, {}, verify.walk(config["roots"], since, config)) == []
    assert read == []
    (tree / "pkg" / "__init__.py").write_text("VALUE = 2\n")
    (tree / "run.sh").chmod(0o644)
    fast = verify.compare(config, {}, verify.walk(config["roots"], since, config))
    assert sorted(read) == [f"{tree}/pkg/__init__.py", f"{tree}/run.sh"]  # in directories left alone
    assert fast == [f"tampered: {tree}/pkg/__init__.py changed", f"tampered: {tree}/run.sh changed"]
    (tree / "pytest.py").write_text("import sys; sys.exit(0)\n")  # /testbed changes: all of it is read
    (tree / "tests" / "test_x.py").unlink()
    read.clear()
    fast = verify.compare(config, {}, verify.walk(config["roots"], since, config))
    assert len(read) == len(config["entries"]) + len(config["derived"])
    assert fast == verify.compare(config, {}) == [
        f"tampered: {tree}/tests/test_x.py removed", f"tampered: {tree}/pkg/__init__.py changed",
        f"tampered: {tree}/pytest.py added", f"tampered: {tree}/run.sh changed"]


def test_a_swapped_directory_is_read_whole_though_its_files_are_old(verify, tree, monkeypatch):
    """Renaming a directory leaves its files' ctimes alone: a tree moved into place (the same names,
    other bytes, made before the container started) is read because the moved directory changed."""
    for name, value in (("real", 1), ("decoy", 2)):
        (tree / name / "sub").mkdir(parents=True)
        (tree / name / "sub" / "mod.py").write_text(f"VALUE = {value}\n")
    config, since = _fast(verify, tree, monkeypatch)
    os.rename(tree / "real", tree / "gone")
    os.rename(tree / "decoy", tree / "real")
    os.rename(tree / "gone", tree / "decoy")
    lines = verify.compare(config, {}, verify.walk(config["roots"], since, config))
    assert f"tampered: {tree}/real/sub/mod.py changed" in lines and f"tampered: {tree}/decoy/sub/mod.py changed" in lines


def test_a_swapped_ancestor_of_a_root_makes_the_root_read(verify, tmp_path):
    lib = tmp_path / "lib"
    for name, value in (("lib", 1), ("other", 2)):
        (tmp_path / name / "site").mkdir(parents=True)
        (tmp_path / name / "site" / "mod.py").write_text(f"VALUE = {value}\n")
    config = {**_config(verify, lib / "site"), "dirty": []}
    since = _moment()
    os.rename(tmp_path / "lib", tmp_path / "gone")
    os.rename(tmp_path / "other", tmp_path / "lib")
    assert verify.compare(config, {}, verify.walk(config["roots"], since, config)) == [
        f"tampered: {lib}/site/mod.py changed"]


def test_the_broken_images_own_differences_are_read_from_the_dirty_list(verify, tree, monkeypatch):
    """A file the fault changed at build time is older than the container, like the gold's files: only
    the dirty list (the nop's differences) tells the fast walk to read it, so leaving it is caught."""
    config = _config(verify, tree)
    (tree / "pkg" / "__init__.py").write_text("VALUE = 'broken'\n")  # the fault's layer
    monkeypatch.setattr(verify, "_fresh_root", lambda path, since: verify._fresh(path, since))
    since = _moment()
    walked = verify.walk(config["roots"], since, {**config, "dirty": []})
    assert verify.compare(config, {}, walked) == []
    dirty = sorted(verify.differences(config, verify.walk(config["roots"])))
    assert dirty == [f"{tree}/pkg/__init__.py"]
    walked = verify.walk(config["roots"], since, {**config, "dirty": dirty})
    assert verify.compare(config, {}, walked) == [f"tampered: {tree}/pkg/__init__.py changed"]


def test_without_a_dirty_list_the_walk_reads_everything(verify, tree, monkeypatch):
    config = _config(verify, tree)
    read = _read_by(verify, monkeypatch)
    verify.walk(config["roots"], time.time() + 60, config)
    assert sorted(read) == sorted([*config["entries"], *config["derived"]])


@pytest.mark.parametrize(("mounts", "module", "copies"), [
    ("overlay / overlay rw,lowerdir=/l,upperdir=/u 0 0\nproc /proc proc rw 0 0", b"N\n", True),
    ("overlay / overlay rw,lowerdir=/l,redirect_dir=on 0 0", b"N\n", False),  # a lower dir can move
    ("overlay / overlay rw,lowerdir=/l 0 0", b"Y\n", False),  # the kernel's default creates redirects
    ("overlay / overlay rw,lowerdir=/l,redirect_dir=off 0 0", b"Y\n", True),
    ("overlay / overlay rw,lowerdir=/l 0 0\n/dev/vda /testbed ext4 rw 0 0", b"N\n", False),  # a bind mount
    ("/dev/vda / ext4 rw 0 0", b"N\n", False),
])
def test_a_directory_moves_only_by_copy_on_an_overlay_without_redirects(verify, monkeypatch, mounts, module, copies):
    """Where an image's directory cannot be renamed (overlayfs without redirect_dir: `mv` copies, so
    every file in it is new), a changed directory need not be read whole."""
    files = {"/proc/self/mounts": mounts.encode(), "/sys/module/overlay/parameters/redirect_dir": module}
    monkeypatch.setattr(verify, "_read", lambda path: files[path])
    assert verify._moves_copy(["/testbed", "/opt/venv"]) is copies


def test_the_loader_cache_reads_as_ldconfig_prints_it(verify):
    """The verifier reads /etc/ld.so.cache itself (no tool an agent could replace): on this machine's
    real cache it finds every soname ldconfig lists, with the same paths in the same order."""
    import re
    import subprocess

    native = verify._native()
    listed: dict[str, list[str]] = {}
    out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for name, path in re.findall(r"^\s+(\S+) \([^)]*\) => (\S+)$", out, re.M):
        listed.setdefault(name, []).append(path)
    assert len(listed) > 20
    found = native["loader_map"](verify._read, [*listed, "libnot-there.so.9"])
    assert {n: [row.split(" ", 1)[1] for row in rows] for n, rows in found.items()} == {**listed, "libnot-there.so.9": []}
    assert native["loader_map"](verify._read, ["libc.so.6"], cache=os.devnull) == {"libc.so.6": []}


def test_a_soname_the_cache_resolves_elsewhere_is_named(verify):
    real = verify._native()["loader_map"](verify._read, ["libc.so.6"])
    moved = {"libc.so.6": [real["libc.so.6"][0].split(" ")[0] + " /opt/vendor/libc.so.6"]}
    config = {"loader": moved, "interpreter_name": "sh", "interpreter": "/bin/sh"}
    assert verify.compare(config, {"PATH": "/bin"}, found={}) == [
        f"tampered: the loader's cache resolves libc.so.6 to {real['libc.so.6'][0].split(' ', 1)[1]} "
        "(gold: /opt/vendor/libc.so.6)"]
    assert verify.compare({**config, "loader": real}, {"PATH": "/bin"}, found={}) == []


def test_nss_services_that_load_a_module_are_read_as_glibc_reads_them(verify, tmp_path):
    """`files` and `dns` are built into glibc; every other service loads libnss_<name>.so.2, found
    through the cache, then the default directories (this machine's own modules stand in)."""
    native = verify._native()
    conf = tmp_path / "nsswitch.conf"
    conf.write_text("passwd: files compat  # a comment naming ghost\nhosts: files [NOTFOUND=return ghost] dns"
                    " hesiod\n#group: nis\nbad line\n")
    assert native["nss_services"](verify._read, str(conf)) == ["compat", "hesiod"]
    modules = native["nss_modules"](verify._read, verify._regular, str(conf))
    path = modules["compat"].split(" ")[0]
    assert path.endswith("/libnss_compat.so.2") and os.path.isfile(path)
    assert modules["compat"].split(" ")[1] == verify._regular(os.path.realpath(path))[0]
    conf.write_text("passwd: files nosuchservice\n")
    assert native["nss_modules"](verify._read, verify._regular, str(conf)) == {"nosuchservice": ""}
