"""The verifier's comparison on a real file tree (no Docker): what counts as tampering, what is
derived or written by the gold's own test run, and bytecode that does not match its source."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sys

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
    assert init == f"f:{verify._hash(str(tree / 'pkg' / '__init__.py'))}:-"
    assert [os.path.basename(p) for p in derived] == [f"__init__.{sys.implementation.cache_tag}.pyc"]
