"""Standard-library families and the per-file import record they aim with (fixture surface)."""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys

from inversion.engine.episode.faults import PlanContext, family, hooks, stdlib, stdlib_targets, stdlib_tools
from inversion.engine.episode.faults import base as fb
from inversion.engine.gold import surface as surf
from inversion.engine.runtime import testrun
from inversion.engine.runtime.pytest_plugin import studio_pytest_plugin as plugin
from tests.support.faults_fixture import PASSING, SURFACE

BASELINE = {"stable_passing": PASSING, "flaky": []}
NAMES = (
    "stdlib_ext_truncated",
    "stdlib_ext_wrong_init",
    "stdlib_ext_abi_tag",
    "stdlib_ext_override_shadow",
    "stdlib_py_stale_override",
    "stdlib_py_tab_indent",
    "stdlib_package_init_missing",
)


def _users(module: str) -> list[str]:
    """The files that load `module`: by its full name where the runner loads its package at start-up."""
    names = stdlib_targets.aliases(SURFACE, module)
    return sorted(f for f, v in SURFACE["per_file"].items() if names & {n for m in v["modules"] for n in (m, fb.top(m))})


def test_targets_are_used_by_some_test_files_and_never_at_start_up():
    startup = fb.startup_modules(SURFACE)
    ctx = PlanContext(SURFACE, BASELINE)
    for name in NAMES:
        fam = family(name)
        assert not fam.breaks_all and fam.applicable(SURFACE, BASELINE)
        for seed in range(6):
            plan = fam.plan(ctx, random.Random(seed))
            if " shadowcopy " in plan.actions[0].command:  # one function of a call-map module (test_faults_calls)
                continue
            facade = stdlib_targets.HARD_EXTENSIONS.get(plan.target, plan.target)
            users = _users(plan.target) or _users(facade)
            assert 0 < len(users) < len(SURFACE["per_file"]), (name, plan.target)
            loaded = stdlib_targets.startup_names(SURFACE)
            assert not stdlib_targets.aliases(SURFACE, facade) & (startup | loaded), (name, plan.target)
            path = stdlib_targets.stdlib_files(SURFACE)[plan.target]
            assert path in plan.actions[0].command and path.startswith("/usr/lib/python3.11/")


def test_extension_families_aim_only_at_extensions_without_a_fallback():
    assert set(stdlib_targets.extensions(SURFACE)) <= {"_sqlite3", "_ssl"}  # not _json, _decimal, _zoneinfo
    plan = family("stdlib_ext_truncated").plan(PlanContext(SURFACE, BASELINE), random.Random(0))
    assert plan.target in {"_sqlite3", "_ssl"} and "lib-dynload" in plan.actions[0].command
    assert ".dpkg-new" in plan.repair
    abi = family("stdlib_ext_abi_tag").plan(PlanContext(SURFACE, BASELINE), random.Random(0))
    assert "cpython-312" in abi.actions[0].command


def test_a_start_up_module_is_never_a_target():
    loaded = copy.deepcopy(SURFACE)
    loaded["modules"]["startup"] = [*loaded["modules"]["startup"], "sqlite3", "ssl", "mimetypes", "zoneinfo"]
    for name in ("stdlib_ext_truncated", "stdlib_ext_wrong_init", "stdlib_ext_override_shadow"):
        assert not family(name).applicable(loaded, BASELINE), name
    assert "mimetypes" not in hooks.blockable(loaded) and "sqlite3" not in fb.stdlib_modules(loaded)


def test_nothing_applies_when_every_test_file_uses_the_module():
    everyone = copy.deepcopy(SURFACE)
    for entry in everyone["per_file"].values():
        entry["modules"] = [
            *entry["modules"],
            "sqlite3",
            "ssl",
            "mimetypes",
            "zoneinfo",
            "stringprep",
            "datetime",
            "importlib.metadata",  # a submodule of a package loaded at start-up counts by its full name
        ]
    assert stdlib_targets.extensions(everyone) == []
    assert stdlib_targets.py_files(everyone, init=True) == []


def test_a_submodule_of_a_package_loaded_at_start_up_is_aimed_at_by_its_full_name():
    """`encodings` loads with every run, `encodings.idna` only with test_net (socket's codec): a target
    there fails test_net alone. Loaded at start-up, it is no target."""
    assert "encodings.idna" in stdlib_targets.py_files(SURFACE, init=False)
    assert stdlib_targets.aliases(SURFACE, "encodings.idna") == {"encodings.idna"}
    assert stdlib_targets.aliases(SURFACE, "sqlite3.dbapi2") == {"sqlite3"}  # sqlite3 never loads at start-up
    early = copy.deepcopy(SURFACE)
    early["modules"]["startup"] = [*early["modules"]["startup"], "encodings.idna"]
    assert "encodings.idna" not in stdlib_targets.py_files(early, init=False)


def test_summary_keeps_stdlib_files_and_the_start_up_set():
    raw = {
        "python": {"base_prefix": "/usr", "path": ["/opt/venv/lib/python3.11/site-packages"]},
        "modules": {
            "json": "/usr/lib/python3.11/json/__init__.py",
            "sys": None,
            "_ssl": "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
            "yaml": "/opt/venv/lib/python3.11/site-packages/yaml/__init__.py",
        },
        "per_file": {"tests/test_a.py": {"modules": ["json"], "shared_libs": []}},
        "startup_modules": ["sys", "json", "studio_pytest_plugin"],
    }
    summary = surf.summarize(raw, {})
    assert summary["modules"]["stdlib_files"] == {
        "json": "/usr/lib/python3.11/json/__init__.py",
        "_ssl": "/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
    }
    assert summary["modules"]["startup"] == ["json", "sys"]
    assert summary["per_file"]["tests/test_a.py"]["modules"] == ["json"]


def test_plugin_reads_a_files_own_imports(tmp_path):
    src = tmp_path / "test_x.py"
    src.write_text(
        "import json\nfrom xml.etree import ElementTree\nfrom . import helpers\n"
        "def test_a():\n    import difflib\nclass T:\n    import csv\n"
    )
    assert {"json", "xml", "xml.etree", "xml.etree.ElementTree", "difflib", "csv"} <= plugin._imports(
        str(src), "", body_only=False
    )
    assert plugin._imports(str(src), "", body_only=True) == {
        "json",
        "xml",
        "xml.etree",
        "xml.etree.ElementTree",
    }
    assert "pkg.helpers" in plugin._imports(str(src), "pkg", body_only=True)
    assert plugin._imports(str(tmp_path / "missing.py"), "", body_only=False) == set()


def test_modules_pytest_loads_lazily_are_never_targets():
    """--doctest-modules imports doctest while the first file is collected: it looks partial, is not."""
    lazy = copy.deepcopy(SURFACE)
    lazy["modules"]["stdlib_files"]["doctest"] = "/usr/lib/python3.11/doctest.py"
    lazy["per_file"]["tests/test_calc.py"]["modules"].append("doctest")
    assert "doctest" not in stdlib_targets.py_files(lazy, init=False)
    assert "mimetypes" in stdlib_targets.py_files(lazy, init=False)


def test_a_package_with_many_files_does_not_crowd_out_the_others():
    targets = [f"asyncio.m{i}" for i in range(28)] + ["ssl"]
    picks = [stdlib_targets.choose(random.Random(seed), targets) for seed in range(40)]
    assert 10 < picks.count("ssl") < 30


def test_plugin_follows_project_modules_to_what_they_import_at_load(tmp_path, monkeypatch):
    pkg = tmp_path / "pkgx15"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "import fractions\nfrom . import util\ndef later():\n    import difflib\n"
    )
    (pkg / "util.py").write_text("import statistics\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import pkgx15  # noqa: F401

    found = plugin._direct({"pkgx15", "not_loaded_anywhere"}, str(tmp_path))
    assert {"pkgx15", "pkgx15.util", "fractions", "statistics"} <= found
    assert "not_loaded_anywhere" not in found and "difflib" not in found


def test_plugin_follows_installed_packages_but_not_the_runner(tmp_path, monkeypatch):
    """humanize, installed (not under the rootdir): the `fractions` it imports counted only for the
    first test file that imported it, so breaking fractions looked partial and failed all 525 tests."""
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "instx15").mkdir(parents=True)
    (site / "instx15" / "__init__.py").write_text("import wave\nfrom . import inner\n")
    (site / "instx15" / "inner.py").write_text("import tabnanny\n")
    monkeypatch.syspath_prepend(str(site))
    import instx15  # noqa: F401

    root = tmp_path / "project"
    root.mkdir()
    found = plugin._direct({"instx15"}, str(root))
    assert {"instx15", "wave", "tabnanny"} <= found
    assert "instx15.inner" not in found  # a dependency's, reached: its top-level name stands for it
    assert "instx15.inner" in plugin._direct({"instx15.inner"}, str(root))
    project = tmp_path / "project_of_instx15"  # the project's own installed copy keeps its names
    (project / "src" / "instx15").mkdir(parents=True)
    assert "instx15.inner" in plugin._direct({"instx15"}, str(project))
    assert plugin._direct({"_pytest.python"}, str(root)) == {"_pytest.python"}  # the runner's: not followed


def test_plugin_follows_the_stdlib_to_what_it_imports_at_load(tmp_path):
    """xmltodict imports xml.sax.saxutils, which imports urllib.request and through it http.client:
    blocking `http` failed all 58 tests, yet only the first file to load it had it on record."""
    import xml.sax.saxutils  # noqa: F401

    found = plugin._direct({"xml.sax.saxutils"}, str(tmp_path))
    assert {"xml.sax.saxutils", "urllib", "http"} <= found  # by top-level name: none was loaded at start-up here
    assert "http.client" not in found


def test_multi_step_variant_spreads_over_up_to_three_modules_one_step_each(monkeypatch):
    """A bulk edit or an interrupted unpack hits several modules other test files use: the variant
    takes three of distinct packages where the gold has three (two where it has two), a step each,
    and one repair restores every one of them."""
    ctx = PlanContext(SURFACE, BASELINE)
    fam = family("stdlib_py_tab_indent")
    tops = {fb.top(n) for n in stdlib_targets.py_files(SURFACE, init=False)}
    assert len(tops) > 3
    for seed in range(6):
        plan = fam.deep_plan(ctx, random.Random(seed))
        assert len(plan.objects) == len({fb.top(o) for o in plan.objects}) == len(plan.actions) == 3, plan.objects
        for name in plan.objects:
            path = stdlib_targets.stdlib_files(SURFACE)[name]
            assert any(path in a.command for a in plan.actions) and f"{path}.orig" in plan.repair
    monkeypatch.setattr(stdlib, "py_files", lambda surface, init: [] if init else ["mimetypes", "ssl"])
    assert set(fam.deep_plan(ctx, random.Random(0)).objects) == {"mimetypes", "ssl"}


def test_two_modules_of_one_package_are_never_one_layer(monkeypatch):
    """One layer on two modules of one package would leave no other stdlib family a module of it
    (wcwidth's tests reach `email.parser` and `email.feedparser` alone): only distinct packages."""
    ctx = PlanContext(SURFACE, BASELINE)
    fam = family("stdlib_source_reencoded")
    monkeypatch.setattr(stdlib_tools.SourceReencoded, "targets", staticmethod(lambda surface: ["zoneinfo", "zoneinfo._tzpath"]))
    assert all(fam.deep_plan(ctx, random.Random(seed)) is None for seed in range(4))
    monkeypatch.setattr(stdlib_tools.SourceReencoded, "targets",
                        staticmethod(lambda surface: ["zoneinfo", "zoneinfo._tzpath", "mimetypes"]))
    for seed in range(4):
        assert {fb.top(o) for o in fam.deep_plan(ctx, random.Random(seed)).objects} == {"zoneinfo", "mimetypes"}


def test_the_zip_shadow_variant_adds_an_entry_per_module_and_one_removal_repairs_them_all():
    ctx = PlanContext(SURFACE, BASELINE)
    plan = family("stdlib_zip_shadow").deep_plan(ctx, random.Random(0))
    entries = [a.command.rsplit(" ", 1)[1] for a in plan.actions]
    assert len(entries) == len(set(entries)) >= 2 and len({fb.top(o) for o in plan.objects}) == len(entries)
    assert plan.repair_lines == [f"rm -f {stdlib_tools.zip_slot(SURFACE)}"]


def test_plugin_counts_what_a_test_packages_init_imports_for_every_test_file_below_it(tmp_path):
    """isodate's tests/__init__.py imports every test module: the `pickle` one of them needs was loaded
    while the first file was collected and looked like that file's and its own, yet blocking it
    failed all 18 tests. What a package's `__init__.py` imports counts for every file below it; a
    plain test package's files keep their own."""
    for pkg, init in (("eager_t", "from . import test_b\n"), ("plain_t", "")):
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text(init)
        for name in ("test_a", "test_c"):
            (tmp_path / pkg / f"{name}.py").write_text(f"def {name}():\n    pass\n")
        (tmp_path / pkg / "test_b.py").write_text("import wave\nimport tabnanny\ndef test_b():\n    pass\n")
    out = tmp_path / "surface.json"
    env = {**os.environ, "PYTHONPATH": str(testrun.SUPPORT_DIR), "STUDIO_SURFACE_OUT": str(out)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # this suite's, set by pytest-django
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "studio_pytest_plugin", "-p", "no:cacheprovider",
                           "-p", "no:randomly", "eager_t", "plain_t"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:]
    per_file = {f: set(v["modules"]) for f, v in json.loads(out.read_text())["per_file"].items()}
    used = {"wave", "tabnanny"}
    assert all(used <= per_file[f"eager_t/{name}.py"] for name in ("test_a", "test_b", "test_c")), per_file
    assert used <= per_file["plain_t/test_b.py"]
    assert not used & (per_file["plain_t/test_a.py"] | per_file["plain_t/test_c.py"])
