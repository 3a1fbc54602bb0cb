"""Faults aimed through the call map at one function of an installed or stdlib module: what the
plugin records, which rows qualify, and what the in-container edits do to real files."""

from __future__ import annotations

import inspect
import json
import os
import random
import subprocess
import sys
import textwrap
import types

import pytest

from inversion.engine.episode.faults import PlanContext, base, calls, family, stdlib_tools
from inversion.engine.episode.faults.base import script_body
from inversion.engine.gold.surface import call_map
from inversion.engine.runtime import testrun
from tests.support.faults_fixture import SURFACE

SITE = "/opt/venv/lib/python3.11/site-packages"


def _row(module, function, tests, file=None):
    return {"module": module, "function": function, "tests": tests,
            "file": file or f"{SITE}/{module.replace('.', '/')}.py"}


def _call_map(tmp_path):
    """The call map a real pytest run with the plugin writes for the suite in `tmp_path`."""
    out = tmp_path / "calls.json"
    env = {**os.environ, "PYTHONPATH": str(testrun.SUPPORT_DIR), "STUDIO_CALLS_OUT": str(out)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # this suite's, set by pytest-django
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "studio_pytest_plugin", "-p", "no:cacheprovider",
                    "-p", "no:randomly", str(tmp_path)], env=env, cwd=tmp_path, check=True, capture_output=True)
    return json.loads(out.read_text())


def test_plugin_maps_functions_some_tests_call_and_leaves_out_what_runs_outside_a_test(tmp_path):
    """A real pytest run with the plugin: `textwrap.indent` (one test of two) is in the map with its
    count; `json.dumps`, which the module under test calls at import, and what every test calls
    are not."""
    (tmp_path / "test_it.py").write_text(textwrap.dedent("""
        import json
        import textwrap
        import shlex
        LOADED = json.dumps({"at": "import"})

        def test_one():
            assert textwrap.indent("a", "  ") == "  a" and shlex.quote("x")
            assert json.dumps(1) == "1"

        def test_two():
            assert shlex.quote("a b") == "'a b'"
    """))
    data = _call_map(tmp_path)
    rows = {(r["module"], r["function"]): r["tests"] for r in data["functions"]}
    assert data["tests"] == 2
    assert rows.get(("textwrap", "indent")) == 1
    assert ("shlex", "quote") not in rows  # both tests call it: it splits nothing
    assert not any(m == "json" and f == "dumps" for m, f in rows)  # called at import: outside any test
    assert not any(r["file"].startswith(str(tmp_path)) for r in data["functions"])  # never the tests' own
    # modules: how many tests call into each, where not all do (json: test_one only, at call time)
    assert data["modules"].get("textwrap") == 1 and data["modules"].get("json") == 1
    assert "shlex" not in data["modules"]


def test_what_the_runner_called_before_the_plugin_loaded_is_no_target(tmp_path):
    """pytest builds its argparse parser before `-p studio_pytest_plugin` loads; a CLI test that
    builds one too must not make argparse's constructor or gettext targets (semver: a stale cache
    of either failed every test), while what only the test calls (parse_args, format_help) stays."""
    (tmp_path / "test_cli.py").write_text(textwrap.dedent("""
        import argparse

        def test_cli():
            parser = argparse.ArgumentParser(prog="tool")
            parser.add_argument("--n", type=int, default=1)
            assert parser.parse_args(["--n", "2"]).n == 2
            assert "usage" in parser.format_help()

        def test_other():
            assert True
    """))
    data = _call_map(tmp_path)
    rows = {(r["module"], r["function"]) for r in data["functions"]}
    assert ("argparse", "ArgumentParser.format_help") in rows
    assert ("argparse", "ArgumentParser.__init__") not in rows
    assert not {m for m, _ in rows} & {"gettext", "locale"}


def test_the_call_map_leaves_out_what_the_runner_calls_at_start_up_and_says_what_gives_back(tmp_path):
    """pytest calls `textwrap.dedent` while it starts, before the plugin's profiler runs; a test that
    calls it too made it a call-map target that every edit refused (xmltodict: a stale cache, a
    shadowing copy and a stub each failed their step there). Another function of the module stays."""
    (tmp_path / "test_wrap.py").write_text(textwrap.dedent("""
        import textwrap

        def test_dedent():
            assert textwrap.dedent("  a") == "a" and textwrap.fill("a b", 10) == "a b"
            wrapper = textwrap.TextWrapper(width=10)  # __init__ gives back nothing
            assert wrapper.wrap("a b") == ["a b"]

        def test_other():
            assert True
    """))
    data = _call_map(tmp_path)
    rows = {(r["module"], r["function"]): r["gives"] for r in data["functions"]}
    assert ("textwrap", "dedent") not in rows
    # whether each gave back a value: an edit dropping what a function returns needs one that does
    assert rows[("textwrap", "fill")] is True and rows[("textwrap", "TextWrapper.wrap")] is True
    assert rows[("textwrap", "TextWrapper.__init__")] is False
    surface = {**SURFACE, "calls": {"tests": 2, "functions": [
        {"module": "textwrap", "file": "/usr/lib/python3.11/textwrap.py", "function": f, "tests": 1, "gives": g}
        for (_, f), g in rows.items() if _ == "textwrap"]}}
    kept = {r["function"] for r in calls.function_targets(surface, "stdlib")}
    assert "TextWrapper.wrap" in kept and "TextWrapper.__init__" not in kept  # a stub or older body there changes nothing
    assert "TextWrapper.__init__" in {r["function"] for r in calls.function_targets(surface, "stdlib", gives=False)}
    debugger, hotfix = family("debugger_call_left"), family("hotfix_patch_misapplied")
    assert "TextWrapper.__init__" in {r["function"] for r in debugger._rows(surface)}  # a statement to go before is all
    assert "TextWrapper.__init__" not in {r["function"] for r in hotfix._rows(surface)}


def test_the_plugin_counts_a_replayed_runner_start_as_outside_any_test():
    """pytest 9 builds its parser once, before the plugin (and its profiler) loads, so the replay is
    the only record that the runner calls argparse's constructor, its formatter check and gettext."""
    code = ("import studio_pytest_calls as p; "
            "print(sorted({q for f, q in p._outside if f.endswith(('argparse.py', 'gettext.py', 'locale.py'))}))")
    env = {**os.environ, "PYTHONPATH": str(testrun.SUPPORT_DIR), "STUDIO_CALLS_OUT": "/dev/null"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    for name in ("ArgumentParser.__init__", "HelpFormatter.__init__", "_expand_lang", "normalize"):
        assert f"'{name}'" in out, out


def test_a_one_file_suite_ranks_modules_some_tests_call_into_first():
    """Every test file imports each module; those the call map says only some tests call into lead
    (a stub or a block of one may leave the others passing), the rest follow."""
    one = {**SURFACE, "per_file": {"tests/test_all.py": {"modules": ["yaml", "markupsafe", "six"], "shared_libs": []}},
           "test_files": ["tests/test_all.py"], "calls": {"tests": 9, "functions": [], "modules": {"six": 3}}}
    ranked = base.rank_targets(["markupsafe", "six", "yaml"], base.file_modules(one), base.called_modules(one))
    assert list(ranked) == ["six", "markupsafe", "yaml"] and ranked.preferred == 1
    assert {base.pick(random.Random(s), ranked) for s in range(10)} == {"six"}
    plain = base.rank_targets(["markupsafe", "six", "yaml"], base.file_modules(one))
    assert plain.preferred == 0
    assert call_map({"calls": {"tests": 9, "functions": [], "modules": {"six": 3, "yaml": 9, "x": 0}}}) == {
        "tests": 9, "functions": [], "modules": {"six": 3}}


def test_rows_of_the_runner_plumbing_and_private_modules_are_not_targets():
    surface = {**SURFACE, "calls": {"tests": 10, "functions": [
        _row("yaml.scanner", "Scanner.scan", 4), _row("_pytest.main", "main", 3), _row("_yaml_ext", "f", 2),
        _row("unittest.case", "TestCase.assertEqual", 5, "/usr/lib/python3.11/unittest/case.py"),
        _row("tempfile", "mkdtemp", 5, "/usr/lib/python3.11/tempfile.py"),  # a library tests call themselves
        _row("getpass", "getuser", 5, "/usr/lib/python3.11/getpass.py"),  # tmp_path's plumbing: never
        _row("encodings.unicode_escape", "Codec.encode", 2, "/usr/lib/python3.11/encodings/unicode_escape.py"),
        _row("encodings.punycode", "adapt", 4, "/usr/lib/python3.11/encodings/punycode.py"),  # a lazy codec
        _row("mimetypes", "guess_type", 3, "/usr/lib/python3.11/mimetypes.py"),
        _row("yaml.cyaml", "load", 3, f"{SITE}/yaml/_yaml.cpython-311-x86_64-linux-gnu.so"),
    ]}}
    assert [r["function"] for r in calls.function_targets(surface, "site")] == ["Scanner.scan"]
    assert [r["function"] for r in calls.function_targets(surface, "stdlib")] == ["mkdtemp", "adapt", "guess_type"]
    assert not calls.function_targets({**SURFACE, "calls": {}}, "site")


def test_a_suite_in_one_file_gets_a_function_level_stale_cache():
    """Where every test file imports every package (one file), the site stale-cache family aims at
    one function from the call map; with none there, it keeps its placeholder module."""
    one = {**SURFACE, "per_file": {"tests/test_all.py": {"modules": ["yaml", "markupsafe", "six"], "shared_libs": []}},
           "test_files": ["tests/test_all.py"]}
    plan = family("stale_bytecode").plan(PlanContext(one, {}), random.Random(0))
    assert "function_edit" not in plan.actions[0].command and " stale " in plan.actions[0].command
    assert "=" in plan.actions[0].command.rsplit(" stale ", 1)[1]  # SRC=FUNCTION pairs
    assert "_code_to_timestamp_pyc" in plan.repair
    bare = {**one, "calls": {}}
    assert "placeholder" in family("stale_bytecode").plan(PlanContext(bare, {}), random.Random(0)).summary


def test_the_multi_step_stale_cache_of_a_one_file_suite_aims_at_functions_of_distinct_modules():
    """A rollback that stopped partway: an older function in each of two or three modules, one step
    each, one recompile of every file a step may have written."""
    one = {**SURFACE, "per_file": {"tests/test_all.py": {"modules": ["yaml", "markupsafe", "six"], "shared_libs": []}},
           "test_files": ["tests/test_all.py"]}
    rows = calls.function_targets(one, "site")
    assert calls.module_count(rows) >= 2
    for seed in range(6):
        plan = family("stale_bytecode").deep_plan(PlanContext(one, {}), random.Random(seed))
        assert len(plan.actions) == min(3, calls.module_count(rows))
        firsts = [a.command.rsplit(" stale ", 1)[1].split()[0] for a in plan.actions]
        files = [f.split("=", 1)[0].strip("'") for f in firsts]
        assert len(set(files)) == len(files), files  # each step leads with another module
        assert all(f in plan.repair for f in files)


def test_a_call_map_plan_names_every_module_its_steps_may_edit_for_the_layer_check():
    """The script takes the first pair that suits it, other modules' among them; a later layer must
    not move or rewrite any of their files (wcwidth: a diversion of email/parser.py on top of a
    debugger line meant for email.feedparser left that line's repair unable to run)."""
    for name in ("debugger_call_left", "stale_bytecode"):
        for seed in range(6):
            fam = family(name)
            plan = (fam.deep_plan if seed % 2 else fam.plan)(PlanContext(SURFACE, {}), random.Random(seed))
            pairs = [p.split("=", 1)[0].strip("'") for a in plan.actions for p in a.command.split() if "=" in p]
            edited = {row["module"] for row in SURFACE["calls"]["functions"] if row["file"] in pairs}
            assert pairs and edited <= set(plan.objects), (name, seed, edited, plan.objects)


def _script():
    """The in-container script, as sent (shared helpers inlined), as a module."""
    module = types.ModuleType("function_edit")
    exec(compile(script_body("function_edit.py"), "function_edit.py", "exec"), module.__dict__)
    return module


def test_stale_edit_takes_the_first_function_that_gives_back_and_the_interpreter_runs_it(tmp_path, monkeypatch):
    src = tmp_path / "libx17.py"
    src.write_text("class Mark:\n    def __init__(self):\n        self.x = 1\n\n\ndef total(v):\n    return sum(v)\n")
    _script().stale([f"{src}=Mark.__init__", f"{src}=total"])  # __init__ gives nothing back: skipped
    monkeypatch.syspath_prepend(str(tmp_path))
    import libx17

    assert libx17.total([1, 2]) is None and libx17.Mark().x == 1  # the cache runs, the source reads right
    assert "return sum(v)" in src.read_text()


def test_debug_line_goes_first_in_the_body_and_the_repair_line_removes_exactly_it(tmp_path):
    src = tmp_path / "liby.py"
    whole = (b'def one():\r\n    """Doc."""\r\n    @staticmethod\r\n    def inner():\r\n        return 1\r\n'
             b"    return inner\r\n\r\n\r\ndef short(): return 2\r\n"
             b"def stub(\r\n    a: int,\r\n) -> int: ...\r\n")  # itsdangerous's overloads: a signature's last line
    src.write_bytes(whole)
    _script().debugline([f"{src}=short", f"{src}=stub", f"{src}=one"])  # neither has a line of its own
    text = src.read_bytes()
    assert text.count(b"set_trace") == 1
    assert b'"""Doc."""\r\n    import ipdb; ipdb.set_trace()  # DEBUG\r\n    @staticmethod' in text  # before the decorator
    compile(text, "liby.py", "exec")
    plan = family("debugger_call_left")._plan(
        PlanContext({**SURFACE, "python": {**SURFACE["python"], "site_packages": [str(tmp_path)],
                                           "executable": sys.executable},  # the repair recompiles here
                     "calls": {"tests": 4, "functions": [_row("liby", "one", 2, str(src))]}}, {}),
        random.Random(0), count=1)
    subprocess.run(["bash", "-c", plan.repair], check=True)
    assert src.read_bytes() == whole


def test_a_function_the_runner_calls_on_its_own_is_passed_over(tmp_path, monkeypatch):
    """The call map may list a function tests call that pytest also calls while it starts (semver:
    `uuid` calls `platform.system()` as pytest imports it): a debugger line there stops every test,
    so the edit goes to the next candidate. Here a plugin pytest loads at start calls `helper`."""
    src = tmp_path / "libstart.py"
    whole = "def helper():\n    return 1\n\n\ndef other():\n    return 2\n"
    src.write_text(whole)
    (tmp_path / "startplug.py").write_text("import libstart\n\nlibstart.helper()\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("PYTEST_PLUGINS", "startplug")
    script = _script()
    assert {name for _, _, name in script.runner_calls({str(src)})} == {"<module>", "helper"}
    script.debugline([f"{src}=helper", f"{src}=other"])
    lines = src.read_text().splitlines()
    assert lines[lines.index("def other():") + 1].strip().startswith("import ipdb")
    assert src.read_text().count("set_trace") == 1


def test_a_misapplied_hotfix_stubs_one_function_in_the_source_keeps_the_original_and_the_repair_restores_it(
        tmp_path, monkeypatch):
    """`patched` passes over a function that gives nothing back and one already patched (an `.orig`
    beside it), stubs the next in the source with a raise (docstring kept, CRLF kept, a generator
    stays one), and the family's repair puts the original bytes back."""
    done = tmp_path / "libdone.py"
    done.write_text("def ready():\n    return 1\n")
    (tmp_path / "libdone.py.orig").write_text("def ready():\n    return 1\n")
    src = tmp_path / "libz.py"
    whole = (b'def quiet():\r\n    print("x")\r\n\r\n\r\ndef total(v):\r\n    """Sum."""\r\n    out = 0\r\n'
             b"    for x in v:\r\n        out += x\r\n    return out\r\n\r\n\r\ndef keep():\r\n    return 7\r\n")
    src.write_bytes(whole)
    os.utime(src, (1_600_000_000, 1_600_000_000))
    _script().patched([f"{done}=ready", f"{src}=quiet", f"{src}=total"])
    assert (tmp_path / "libz.py.orig").read_bytes() == whole and os.stat(tmp_path / "libz.py.orig").st_mtime == 1_600_000_000
    text = src.read_bytes()
    assert b'def total(v):\r\n    """Sum."""\r\n    raise NotImplementedError\r\n\r\n\r\ndef keep():' in text and b"out +=" not in text
    assert done.read_text() == "def ready():\n    return 1\n"
    monkeypatch.syspath_prepend(str(tmp_path))
    import libz

    with pytest.raises(NotImplementedError):
        libz.total([1, 2])
    assert libz.keep() == 7 and libz.total.__doc__ == "Sum."
    gen = tmp_path / "libg.py"
    gen.write_text("def items(n):\n    for i in range(n):\n        yield i\n")
    _script().patched([f"{gen}=items"])
    import libg

    assert inspect.isgeneratorfunction(libg.items)
    with pytest.raises(NotImplementedError):
        list(libg.items(3))
    plan = family("hotfix_patch_misapplied")._plan(
        PlanContext({**SURFACE, "python": {**SURFACE["python"], "site_packages": [str(tmp_path)],
                                           "executable": sys.executable},
                     "calls": {"tests": 4, "functions": [_row("libz", "total", 2, str(src)),
                                                         _row("libg", "items", 1, str(gen))]}}, {}),
        random.Random(0), count=2)
    subprocess.run(["bash", "-c", plan.repair], check=True)
    assert src.read_bytes() == whole and not (tmp_path / "libz.py.orig").exists()
    assert gen.read_text() == "def items(n):\n    for i in range(n):\n        yield i\n"


def test_a_stubbed_copy_goes_elsewhere_and_leaves_the_module_itself_as_it_was(tmp_path, monkeypatch):
    """`shadowcopy DIR` writes the module's copy as DIR/<file name>, `stagecopy DIR` as DIR/<full
    path> (two modules with one file name stay apart); the function that gives nothing back is
    passed over, the source is untouched and no `.orig` is left (the copy is what gets moved)."""
    src = tmp_path / "libq.py"
    whole = b'def quiet():\n    print("x")\n\n\ndef total(v):\n    """Sum."""\n    return sum(v)\n\n\ndef keep():\n    return 7\n'
    src.write_bytes(whole)
    os.utime(src, (1_600_000_000, 1_600_000_000))
    shadow, stage = tmp_path / "over", tmp_path / "stage"
    _script().copied([str(shadow), f"{src}=quiet", f"{src}=total"], flat=True)
    _script().copied([str(stage), f"{tmp_path / 'gone.py'}=f", f"{src}=total"], flat=False)  # a moved file: the next
    assert src.read_bytes() == whole and not list(tmp_path.glob("*.orig"))
    staged = stage / str(src).lstrip("/")
    assert staged.read_bytes() == (shadow / "libq.py").read_bytes() != whole
    assert os.stat(staged).st_mtime == 1_600_000_000  # a customised copy keeps the times it was made with
    monkeypatch.syspath_prepend(str(shadow))
    import libq

    with pytest.raises(NotImplementedError):
        libq.total([1])
    assert libq.keep() == 7 and libq.total.__doc__ == "Sum."
    with pytest.raises(SystemExit):
        _script().copied([str(shadow), f"{src}=quiet"], flat=True)  # nothing there gives anything back
    archive = tmp_path / "python399.zip"
    other = tmp_path / "libr.py"
    other.write_text("def one():\n    return 1\n")
    _script().zipped([str(archive), f"{src}=total"])
    _script().zipped([str(archive), f"{other}=one"])  # a second entry joins the first
    monkeypatch.syspath_prepend(str(archive))
    import libr

    assert libr.__file__.startswith(str(archive)) and src.read_bytes() == whole
    with pytest.raises(NotImplementedError):
        libr.one()


def test_a_suite_in_one_file_gets_stubbed_copies_diverted_into_place_or_shadowing_the_module():
    """Where every test file imports every module (one file), moving a stdlib module aside or
    shadowing it whole fails every test: the diversion installs a customised copy, and the override
    directory, the stdlib zip and a PYTHONPATH directory hold a whole copy, each with one call-map
    function stubbed; the shadows only of a top-level single-file module that loads after site.py (a
    copy of a submodule, or of `os`, is never used)."""
    one = {**SURFACE, "per_file": {"tests/test_all.py": {"modules": sorted({m for v in SURFACE["per_file"].values()
                                                                           for m in v["modules"]}), "shared_libs": []}},
           "test_files": ["tests/test_all.py"]}
    rows = calls.function_targets(one, "stdlib")
    shadowable = calls.shadowable(one)
    assert rows and shadowable and {r["module"] for r in shadowable} < {r["module"] for r in rows}
    assert all("." not in r["module"] and r["module"] not in calls.PRE_SITE for r in shadowable)
    dpkg, override = family("stdlib_dpkg_diverted"), family("stdlib_py_stale_override")
    zipped, pythonpath = family("stdlib_zip_shadow"), family("pythonpath_stub")
    assert not stdlib_tools.DpkgDiverted.targets(one) and not override.singles(one) and not zipped.targets(one)
    bare = {**one, "modules": {**one["modules"], "site": []}}  # nothing installed to stub: only the copy fits
    assert pythonpath.applicable(bare, {}) and zipped.applicable(one, {})
    for seed in range(6):
        ctx = PlanContext(one, {})
        diverted, shadowed = dpkg.plan(ctx, random.Random(seed)), override.plan(ctx, random.Random(seed))
        assert " stagecopy " in diverted.actions[0].command and "dpkg-divert" in diverted.actions[1].command
        assert " shadowcopy " in shadowed.actions[0].command and ".pth" in shadowed.actions[1].command
        assert diverted.target in {r["module"] for r in rows} and shadowed.target in {r["module"] for r in shadowable}
        assert "dpkg-divert --local --rename --remove" in diverted.repair and "_code_to_timestamp_pyc" in diverted.repair
        zip_plan, env_plan = zipped.plan(ctx, random.Random(seed)), pythonpath.plan(PlanContext(bare, {}), random.Random(seed))
        assert " zipcopy " in zip_plan.actions[0].command and zip_plan.target in {r["module"] for r in shadowable}
        assert " shadowcopy " in env_plan.actions[0].command and env_plan.actions[1].name == "PYTHONPATH"
        deep_dpkg, deep_override = (f.deep_plan(ctx, random.Random(seed)) for f in (dpkg, override))
        assert len(deep_dpkg.actions) in (4, 6) and all(" stagecopy " in a.command for a in deep_dpkg.actions[::2])
        assert len(deep_override.actions) in (3, 4) and deep_override.actions[1].command.startswith("echo ")
    single = {**one, "calls": {**one["calls"], "functions": [r for r in rows if r["module"] == shadowable[0]["module"]]}}
    assert dpkg.deep_plan(PlanContext(single, {}), random.Random(0)) is None  # one module: the plain two steps
    assert override.deep_plan(PlanContext(single, {}), random.Random(0)) is None


def test_where_the_gold_has_its_share_of_whole_suite_tasks_a_family_aims_at_one_function():
    """A module-level stub fails every test that imports the module (termcolor, one test file: 62 % of
    a batch failed the whole suite); once a gold has its share of such tasks, a family with both plans
    takes the call-map one, which fails only the tests calling one function."""
    def module_level(name, aim):
        return {"empty" in family(name).plan(PlanContext(SURFACE, {}, aim_calls=aim), random.Random(s)).summary
                for s in range(12)}

    for name in ("pythonpath_stub", "stdlib_stale_bytecode", "stdlib_zip_shadow"):
        assert module_level(name, False) == {True, False}, name
        assert module_level(name, True) == {False}, name
