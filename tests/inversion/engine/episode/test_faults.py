"""The fault catalog against a realistic surface (captured from the fixture project)."""

from __future__ import annotations

import copy
import random

from inversion.engine.episode.actions import RunCommand, SetEnv
from inversion.engine.episode.categories import CATEGORIES, canonical_category
from inversion.engine.episode.faults import PlanContext, families, family
from inversion.engine.episode.faults import base as fb
from tests.support.faults_fixture import PASSING, SURFACE

BASELINE = {"stable_passing": PASSING, "flaky": []}


def test_catalog_size_and_categories():
    fams = families()
    assert len(fams) == 50
    assert {f.category for f in fams} == set(CATEGORIES)  # every category of the taxonomy has a family
    assert len({f.name for f in fams}) == len(fams)
    for f in fams:
        assert f.name and f.category and f.description and f.keywords
        assert f.category in CATEGORIES and canonical_category(f.category) == f.category


def test_free_text_categories_map_onto_the_taxonomy():
    """What small and hosted models write at `finish` lands on the catalog's names."""
    for text, expected in [("shared-library", "shared_library"), ("Shared Library", "shared_library"),
                           ("Dependency", "python_dependency"), ("shadowing", "module_shadowing"),
                           ("startup hook", "startup_hooks"), ("TLS", "certificates"),
                           ("time-zone", "timezone"), ("config", "config"), ("", "environment"),
                           ("Network Outage!", "network_outage"), ("none", "none")]:
        assert canonical_category(text) == expected, text


def test_every_family_applies_to_the_fixture_and_plans_real_paths():
    for fam in families():
        assert fam.applicable(SURFACE, BASELINE), fam.name
        plan = fam.plan(PlanContext(SURFACE, BASELINE), random.Random(3))
        assert plan.family == fam.name and plan.category == fam.category
        assert plan.actions and all(isinstance(a, RunCommand | SetEnv) for a in plan.actions)
        assert plan.repair.startswith("#!/bin/bash") and len(plan.repair.splitlines()) > 2
        assert plan.target and plan.summary


def test_targets_prefer_what_only_some_test_files_use():
    ctx = PlanContext(SURFACE, BASELINE)
    for seed in range(8):
        plan = family("so_elf_header_shadow").plan(ctx, random.Random(seed))
        assert plan.target in {"libsqlite3.so.0", "libssl.so.3", "libcrypto.so.3"}
        assert len(plan.actions) == 1 and "ln -s" in plan.actions[0].command
        assert f"/usr/lib/x86_64-linux-gnu/{plan.target}" in plan.actions[0].command
        assert plan.repair.strip().endswith(".part")
    for seed in range(8):  # never a library the interpreter links (libz, libexpat) or libc
        assert family("so_truncated_shadow").plan(ctx, random.Random(seed)).target.startswith(
            ("libsqlite3", "libssl", "libcrypto"))
    shadows = {family("stdlib_shadow_testbed").plan(ctx, random.Random(s)).target for s in range(12)}
    users = fb.file_modules(SURFACE)
    assert len(shadows) > 1 and not shadows & fb.PLUMBING  # never pwd/getpass pulled in by tmp_path
    assert all(0 < len(fb.used_by(users, t)) < len(users) for t in shadows)  # only some files use each


def test_module_helpers_skip_runner_project_and_plumbing():
    site = fb.site_modules(SURFACE)
    assert {"yaml", "markupsafe", "six"} <= set(site)
    assert not {"pytest", "_pytest", "calc"} & set(site)
    assert "pwd" not in fb.stdlib_modules(SURFACE) and "cython_runtime" not in fb.stdlib_modules(SURFACE)
    assert fb.executables(SURFACE) == {"git": "/usr/bin/git"}
    libs = fb.system_libs(SURFACE)
    assert libs["libsqlite3.so.0"].endswith("libsqlite3.so.0.8.6")
    assert not any(s.startswith(("libc.so", "libm.so", "ld-linux")) for s in libs)


def test_preconditions_follow_the_surface():
    bare = copy.deepcopy(SURFACE)
    bare["executables"] = []
    bare["per_file"] = {f: {"modules": [f.split("/")[-1][:-3]], "shared_libs": []} for f in bare["per_file"]}
    bare["shared_libs"] = []
    for name in ("path_wrapper_shadow", "exec_bit_removed", "so_elf_header_shadow", "ca_bundle_env",
                 "site_module_stub", "stale_bytecode", "stdlib_shadow_testbed", "tmp_root_squatted"):
        assert not family(name).applicable(bare, BASELINE), name
    assert family("pytest_required_plugin").applicable(bare, BASELINE)
    system_python = copy.deepcopy(SURFACE)
    system_python["python"].update(prefix="/usr", executable="/usr/bin/python3")
    assert not family("venv_python_symlink").applicable(system_python, BASELINE)


def test_plans_are_deterministic_per_seed():
    ctx = PlanContext(SURFACE, BASELINE)
    for fam in families():
        assert fam.plan(ctx, random.Random(7)) == fam.plan(ctx, random.Random(7))


def test_no_step_names_the_studio_and_strings_keep_their_hashes():
    """Every step goes into the broken Dockerfile a harness ships: the scripts' maintainer comments
    (which named the studio and its modules) stay out, a `#` inside a string (the debugger line's
    `# DEBUG`) stays in, and what is sent still compiles."""
    ctx = PlanContext(SURFACE, BASELINE)
    for fam in (f for f in families() if f.applicable(SURFACE, BASELINE)):
        for plan in filter(None, (fam.plan(ctx, random.Random(1)), fam.deep_plan(ctx, random.Random(1)))):
            for action in plan.actions:
                text = action.command if isinstance(action, RunCommand) else f"{action.name}={action.value}"
                assert "studio" not in text.lower(), (fam.name, text[:200])
    debugger = family("debugger_call_left").plan(ctx, random.Random(1)).actions[0].command
    assert "ipdb.set_trace()  # DEBUG" in debugger
    for name in ("function_edit.py", "project_break.py", "optional_stub.py"):
        body = fb.script_body(name)
        compile(body, name, "exec")
        assert not [ln for ln in body.splitlines() if ln.lstrip().startswith("#")], name
