"""The project families aim only at the project's own code: never a test file, a conftest, packaging
or a module loaded from outside /testbed (unless the project was installed from it); their plans
carry the chooser script, not a fixed name."""

from __future__ import annotations

import random
import types

from inversion.engine.episode.faults import PlanContext, family, project
from inversion.engine.episode.faults.project import project_sources
from inversion.engine.gold import surface

SURFACE = {
    "python": {"executable": "/opt/venv/bin/python", "version": "3.11.2",
               "site_packages": ["/opt/venv/lib/python3.11/site-packages"]},
    "modules": {"project": [
        {"name": "pkg", "file": "/testbed/pkg/__init__.py"},
        {"name": "pkg.core", "file": "/testbed/pkg/core.py"},
        {"name": "pkg.tests.test_core", "file": "/testbed/pkg/tests/test_core.py"},
        {"name": "conftest", "file": "/testbed/conftest.py"},
        {"name": "setup", "file": "/testbed/setup.py"},
        {"name": "pkg._version", "file": "/testbed/pkg/_version.py"},
        {"name": "pkg.native", "file": "/testbed/pkg/native.cpython-311-x86_64-linux-gnu.so"},
        {"name": "elsewhere", "file": "/opt/elsewhere.py"},
    ]},
    "test_files": ["pkg/tests/test_core.py", "tests/test_other.py"],
}


def test_only_the_projects_own_modules_are_targets():
    assert project_sources(SURFACE) == [("pkg", "/testbed/pkg/__init__.py"), ("pkg.core", "/testbed/pkg/core.py")]
    assert not family("project_stale_bytecode").applicable({**SURFACE, "modules": {"project": []}}, {})


def test_an_installed_project_counts_by_its_distribution_and_summarize_names_it():
    """A project `pip install .`ed from /testbed (direct_url.json names it) is its code as the tests
    load it: its site-packages modules are sources, another distribution's are not."""
    sp = "/opt/venv/lib/python3.11/site-packages"
    raw = {"python": {"path": [sp], "base_prefix": "/usr"},
           "modules": {"shop": f"{sp}/shop/__init__.py", "shop.prices": f"{sp}/shop/prices.py",
                       "shop._speed": f"{sp}/shop/_speed.cpython-311-x86_64-linux-gnu.so",
                       "yaml": f"{sp}/yaml/__init__.py"}}
    owners = {f"{sp}/shop/__init__.py": ["shop-prices", "1.0"], f"{sp}/shop/prices.py": ["shop-prices", "1.0"],
              f"{sp}/yaml/__init__.py": ["PyYAML", "6.0"]}
    summary = surface.summarize(raw, {"files": owners, "local": ["shop-prices", "not-loaded"]})
    assert summary["project_dists"] == ["shop-prices"]
    assert project_sources(summary) == [("shop", f"{sp}/shop/__init__.py"), ("shop.prices", f"{sp}/shop/prices.py")]
    assert project_sources({**summary, "project_dists": []}) == []
    runner = {**summary, "modules": {**summary["modules"], "site": [
        {"name": "pluggy", "file": f"{sp}/pluggy/__init__.py", "dist": "pluggy"}]}, "project_dists": ["pluggy"]}
    assert project_sources(runner) == []  # pytest runs on pluggy: breaking it breaks the runner


def test_a_file_loaded_under_an_alias_is_one_source_named_as_its_path_spells():
    """toolz's `tlz` loads every toolz module again under its own name: each file is one target, and
    the target names the package whose files change (alphabetically, `tlz` came first)."""
    aliased = [{"name": "a" + m["name"], "file": m["file"]} for m in SURFACE["modules"]["project"]]
    surface = {**SURFACE, "modules": {"project": [*aliased, *SURFACE["modules"]["project"],
                                                  {"name": "src_only", "file": "/testbed/src/src_only.py"}]}}
    assert project_sources(surface) == [("pkg", "/testbed/pkg/__init__.py"), ("pkg.core", "/testbed/pkg/core.py"),
                                        ("src_only", "/testbed/src/src_only.py")]
    assert family("project_truncated_module").plan(PlanContext(surface, {}), random.Random(1)).target == "pkg"


def test_plans_send_the_chooser_and_repair_offline():
    ctx = PlanContext(SURFACE, {})
    stale = family("project_stale_bytecode").plan(ctx, random.Random(1))
    assert stale.target == "pkg" and len(stale.actions) == 1
    command = stale.actions[0].command
    assert command.startswith("/opt/venv/bin/python -c ") and " stale " in command
    assert "pkg/tests/test_core.py,tests/test_other.py" in command and "_PostImport" not in command
    assert "_code_to_timestamp_pyc" in stale.repair and "pycache_prefix" in stale.repair
    wrap = family("instrumentation_wrapper_drops_result").plan(ctx, random.Random(1))
    assert "_PostImport" in wrap.actions[0].command and " wrap " in wrap.actions[0].command
    assert "rm -f /opt/venv/lib/python3.11/site-packages/apm-autowrap.pth" in wrap.repair
    deep = family("instrumentation_wrapper_drops_result").deep_plan(ctx, random.Random(1))
    assert len(deep.actions) == 2 and deep.actions[1].command.startswith("mv ")
    assert "apm-autowrap.pth.off" in deep.actions[0].command
    *steps, unchecked = family("project_stale_bytecode").deep_plan(ctx, random.Random(1)).actions
    assert [a.command.split(" stale ", 1)[1].split()[2] for a in steps] == ["0", "1"]  # the 1st, then the 2nd
    assert "source_hash" in unchecked.command and all(f"/testbed/pkg/{m}.py" in unchecked.command for m in ("__init__", "core"))
    assert steps[0].command.split()[-2:] == steps[1].command.split()[-2:]  # the same seeded order
    left = family("project_leftover_package").plan(ctx, random.Random(1))
    assert " leftover " in left.actions[0].command and "/testbed/pkg/core" in left.repair
    assert "/testbed/pkg/__init__" not in left.repair  # a package's __init__ has no module to shadow
    assert family("project_leftover_package").deep_plan(ctx, random.Random(1)) is None  # one module only
    opt = family("optional_accelerator_half_installed").plan(ctx, random.Random(1))
    assert " optional " in opt.actions[0].command and "is not available in this build" in opt.repair


def _chooser():
    """The in-container chooser script, as sent (shared helpers inlined), as a module (it only defines
    things until run as __main__)."""
    from inversion.engine.episode.faults.base import script_body

    module = types.ModuleType("project_break")
    exec(compile(script_body("project_break.py"), "project_break.py", "exec"), module.__dict__)
    return module


def test_a_suite_in_one_file_still_gets_a_method_only_some_tests_call(tmp_path):
    """Counted per test function, a one-file suite keeps passing tests: a method that some tests
    call and others do not is chosen, never a decorated one or one nobody names."""
    chooser = _chooser()
    chooser.add_tests("tests/test_mod.py", (
        "from mod import Adapter\n\n\nclass TestAdapter:\n    def test_a(self):\n        assert Adapter().fetch(1)\n\n"
        "    def test_b(self):\n        assert Adapter().close() is None\n\n\ndef test_c():\n    assert Adapter().fetch(2)\n\n\n"
        "def test_d():\n    assert Adapter().size == 3\n"
    ))
    src = tmp_path / "mod.py"
    src.write_text("class Adapter:\n    def fetch(self, x):\n        return x\n\n    def close(self):\n        pass\n\n"
                   "    @property\n    def size(self):\n        return 3\n\n    def unused(self):\n        return 0\n")
    assert len(chooser.UNITS) == 4
    picks = {chooser.pick(str(src), random.Random(seed), ["tests/test_mod.py"])[1] for seed in range(8)}
    assert picks == {"Adapter.fetch"}  # 2 of 4 tests: the most even split
    tree, name = chooser.pick(str(src), random.Random(0), ["tests/test_mod.py"])
    assert chooser.find(tree, name).name == "fetch"
    other = "from mod import Adapter\nAdapter.fetch_alias = Adapter.fetch\n"  # another module names it
    assert chooser.pick(str(src), random.Random(0), ["tests/test_mod.py"], avoid=[other])[1] == "Adapter.unused"  # close gives nothing back


def test_a_module_is_cut_where_it_still_imports_and_some_tests_still_pass(tmp_path):
    """The cut lands at a top-level statement whose tail some tests name and others do not; never
    at a tail another module names (its import would fail) and never where every test needs it."""
    chooser = _chooser()
    chooser.add_tests("tests/test_mod.py", (
        "import mod\n\n\ndef test_a():\n    assert mod.first(1) == 1\n\n\ndef test_b():\n    assert mod.second(2) == 2\n\n\n"
        "def test_c():\n    assert mod.third(3) == 3\n"
    ))
    src = tmp_path / "mod.py"
    src.write_bytes(b"import os\r\n\r\n\r\ndef first(x):\r\n    return x\r\n\r\n\r\ndef second(x):\r\n    return x\r\n\r\n\r\n"
                    b"@staticmethod\r\ndef third(x):\r\n    return x\r\n")
    whole = src.read_bytes()
    cuts = {tuple(chooser.cut_point(str(src), random.Random(seed), ["tests/test_mod.py"], [])[1]) for seed in range(12)}
    assert cuts == {("second", "third"), ("third",)}  # never at `first`: the tail would fail every test
    assert chooser.cut_point(str(src), random.Random(0), ["tests/test_mod.py"], [chooser.load_refs("from mod import third")]) is None
    chooser.truncate(random.Random(0), ["tests/test_mod.py"], 0, [str(src)])
    staged = [p for p in tmp_path.iterdir() if p.name.startswith(".mod.py.")]
    assert len(staged) == 1 and staged[0].read_bytes() == whole  # the whole file, byte for byte (CRLF kept)
    cut = src.read_bytes()
    assert whole.startswith(cut) and b"def first" in cut and b"@staticmethod" not in cut  # a decorator goes with its def
    compile(cut, "mod.py", "exec")  # it still imports


def test_truncate_plan_moves_the_staged_copies_back():
    ctx = PlanContext(SURFACE, {})
    plan = family("project_truncated_module").plan(ctx, random.Random(1))
    assert " truncate " in plan.actions[0].command and plan.target == "pkg"
    assert "/testbed/pkg/core.py" in plan.repair and 'mv -f "$s" "$p"' in plan.repair
    assert len(family("project_truncated_module").deep_plan(ctx, random.Random(1)).actions) == 2


def test_a_project_without_an_optional_import_fails_the_step_with_no_target(tmp_path):
    """The accelerator's step, run for real (this machine has no /testbed): it finds no optional
    import and exits NO_TARGET, which tells the agent the gold has none, whatever else is laid."""
    import os
    import subprocess
    import sys

    from inversion.engine.episode.faults import NO_TARGET

    assert not os.path.exists("/testbed")
    plan = family("optional_accelerator_half_installed").plan(PlanContext(SURFACE, {}), random.Random(1))
    command = plan.actions[0].command.replace("/opt/venv/bin/python", sys.executable, 1)
    command = command.replace("/opt/venv/lib/python3.11/site-packages", str(tmp_path))
    run = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert run.returncode == NO_TARGET, run.stderr
    assert "no optional import" in run.stderr and not list(tmp_path.iterdir())


def test_a_core_version_module_is_a_source_and_the_docs_are_not():
    """A `version.py` may be the project's core (semver's Version class; one a tool generated
    defines no function and the script passes it over); Sphinx's docs/conf.py and docs examples are
    no code the tests run (semver: cutting them broke nothing, episode after episode)."""
    modules = [*SURFACE["modules"]["project"],
               {"name": "pkg.version", "file": "/testbed/pkg/version.py"},
               {"name": "docs.conf", "file": "/testbed/docs/conf.py"},
               {"name": "docs.advanced.coerce", "file": "/testbed/docs/advanced/coerce.py"}]
    names = [n for n, _ in project_sources({**SURFACE, "modules": {"project": modules}})]
    assert names == ["pkg", "pkg.core", "pkg.version"]


def test_the_multi_step_stale_cache_survives_a_touched_source_until_recompiled(tmp_path, monkeypatch):
    """A single-module project still gets a second step: the stale cache is rewritten as an
    unchecked-hash pyc, so touching the source (which cures a timestamp-checked stale cache) leaves
    the older body running; the plan's repair heals it. Run for real, in this interpreter."""
    import os
    import subprocess
    import sys

    (tmp_path / "mod.py").write_text("def first(x):\n    return x\n\n\ndef second(x):\n    return x\n")
    (tmp_path / "test_mod.py").write_text("from mod import first, second\n\n\ndef test_a():\n    assert first(1) == 1\n\n\n"
                                          "def test_b():\n    assert second(2) == 2\n\n\ndef test_c():\n    assert second(3) == 3\n")
    here = dict(SURFACE, python=dict(SURFACE["python"], executable=sys.executable),
                modules={"project": [{"name": "mod", "file": str(tmp_path / "mod.py")}]}, test_files=["test_mod.py"])
    monkeypatch.setattr(project, "TESTBED", str(tmp_path))
    plan = family("project_stale_bytecode").deep_plan(PlanContext(here, {}), random.Random(0))
    assert len(plan.actions) == 2 and "unchecked-hash" in plan.summary

    def run(command: str) -> None:
        subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True, capture_output=True)

    def returns() -> list[str]:
        probe = "import mod; print(mod.first(1), mod.second(2))"
        return subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True).stdout.split()

    for action in plan.actions:
        run(action.command)
    assert "None" in returns()
    os.utime(tmp_path / "mod.py", (1, 1))  # a new mtime: a timestamp-checked cache would be rebuilt
    assert "None" in returns()
    run(plan.repair)
    assert returns() == ["1", "2"]


def test_taking_away_a_name_a_test_file_imports_fails_that_whole_file(tmp_path):
    """jsonpointer (one test file, `from jsonpointer import resolve_pointer, ...`): taking away a
    function the file imports as it loads failed all 22 tests in every episode. For a leftover
    package or a cut tail, every test of a file that imports a name it takes away (at module level,
    also in a `try`, or by a star import where `__all__` lists it) counts as failing, so such a
    change is no partial one; an import inside a test fails that test only."""
    chooser = _chooser()
    chooser.add_tests("tests/test_mod.py", text := (
        "try:\n    from mod import first\nexcept ImportError:\n    raise\n\n\n"
        "def test_a():\n    assert first(1) == 1\n\n\ndef test_b():\n    from mod import second\n    assert second(2) == 2\n\n\n"
        "def test_c():\n    import mod\n    assert mod.third(3) == 3\n\n\ndef test_d():\n    assert first(4) == 4\n"
    ))
    assert chooser.collected_names(text) == {"first"}
    src = tmp_path / "mod.py"
    src.write_text("def first(x):\n    return x\n\n\ndef second(x):\n    return x\n\n\ndef third(x):\n    return x\n")
    tests = ["tests/test_mod.py"]
    picks = {chooser.workable(random.Random(seed), tests, [str(src)], 0, 1, among=[str(src)])[0][2] for seed in range(12)}
    assert picks and "first" not in picks
    assert "first" in {chooser.pick(str(src), random.Random(s), tests)[1] for s in range(12)}  # a stale body may aim there
    src.write_text("def second(x):\n    return x\n\n\ndef first(x):\n    return x\n\n\ndef third(x):\n    return x\n")
    cuts = {tuple(chooser.cut_point(str(src), random.Random(seed), tests, [])[1]) for seed in range(12)}
    assert cuts == {("third",)}  # a cut at `first` would take it and `third`
    chooser.TEXTS.clear(), chooser.UNITS.clear(), chooser.UNIT_FILES.clear(), chooser.COLLECTED.clear()
    chooser.add_tests("tests/test_mod.py", "from mod import *\n" + text)
    (tmp_path / "mod.py").write_text("__all__ = ['second']\n\n\ndef third(x):\n    return x\n\n\ndef second(x):\n    return x\n")
    assert chooser.kept(chooser.ast.parse(src.read_text()), chooser.collected_names(chooser.TEXTS["tests/test_mod.py"])) == {"*", "first", "second"}
    assert chooser.cut_point(str(src), random.Random(0), tests, []) is None  # every tail holds `second`
