"""The issue writer: the leak check catches every name a delta brings in, voices differ, and the
text never calls project files untouchable when the repair restores some of them."""

from __future__ import annotations

import random

import pytest

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import PlanContext, family
from inversion.engine.validate.issuewriter import (
    SCOPE,
    Evidence,
    find_giveaways,
    giveaway_tokens,
    offline_issue,
)
from tests.support.faults_fixture import SURFACE


def _delta(name: str) -> list[dict]:
    """A family's plan as a delta; `deep:NAME` for its multi-step variant."""
    deep, _, name = name.rpartition(":")
    fam, ctx = family(name), PlanContext(SURFACE, network=True)
    plan = fam.deep_plan(ctx, random.Random(0)) if deep else fam.plan(ctx, random.Random(0))
    return [{"run": a.command, "ok": True} if isinstance(a, RunCommand) else {"env": a.name, "value": a.value}
            for a in plan.actions]


@pytest.mark.parametrize("name,injected", [
    ("pytest_required_plugin", "pytest-randomly"),  # a package name
    ("conftest_import_error", "pytest_env_defaults"),  # a module name
    ("locale_missing", "de_DE.UTF-8"),  # a locale name
    ("locale_missing", "de_DE"),
    ("locale_codeset_mismatch", "en_US.UTF-8"),
    ("so_elf_header_shadow", "libsqlite3.so.0"),  # library basenames
    ("so_elf_header_shadow", "libsqlite3.so.0.8.6.part"),
    ("ext_dep_symbol_missing", "libsqlite3.so.0"),
    ("pth_module_block", "zz-compat.pth"),
    ("stale_vendored_copy", "00-vendored.pth"),
    ("ca_bundle_env", "corp-ca-bundle.pem"),
    ("warnings_policy_module", "ci_policy.StrictWarning"),
    ("warnings_policy_module", "PYTHONWARNINGS"),
    ("ld_conf_stale_cache", "00-oracle-client.conf"),
    ("pip_incompatible_version", "legacy-libs"),
    ("deep:pytest_required_plugin", "pytest_randomly"),  # the leftover dist-info's module
    ("deep:pytest_required_plugin", "pytest_randomly-3.4.1.dist-info"),
    ("deep:stdlib_py_stale_override", "00-site-overrides.pth"),
    ("stdlib_stale_bytecode", "stringprep.cpython-311.pyc"),
    ("debugger_call_left", "ipdb"),  # the debugger the leftover line imports
    ("debugger_call_left", "set_trace"),
    ("stdlib_dpkg_diverted", "ssl.py.distrib"),  # the diverted file's new name
    ("stdlib_dpkg_diverted", "dpkg-divert"),
    ("stdlib_zip_shadow", "python311.zip"),
    ("stdlib_source_reencoded", "UTF-16"),  # the encoding the conversion wrote
    ("project_extension_leftover", "render.cpython-311-x86_64-linux-gnu.so"),
    ("compat_shim_reroutes_call", "fastpath_compat"),  # the shim's module (seed 0's name)
    ("deep:compat_shim_reroutes_call", "backports-accel.pth"),  # and its .pth
])
def test_the_leak_check_catches_each_injected_name(name, injected):
    evidence = Evidence("fixture", "config", ["t::x"], {}, delta=_delta(name) if name != "ld_conf_stale_cache" else
                        [{"run": "echo /opt/oracle-client/lib > /etc/ld.so.conf.d/00-oracle-client.conf && ldconfig",
                          "ok": True}])
    tokens = giveaway_tokens(evidence)
    assert find_giveaways(f"Maybe it is {injected}?", tokens), (injected, sorted(tokens))


def test_names_from_the_changed_paths_count_too():
    evidence = Evidence("fixture", "config", ["t::x"], {}, changed_paths=["/etc/ld.so.conf.d/00-acme-runtime.conf"])
    assert find_giveaways("see 00-acme-runtime.conf", giveaway_tokens(evidence))


def test_symptoms_stay_and_injected_names_are_redacted():
    excerpt = "ImportError while loading conftest '/testbed/tests/conftest.py'.\nModuleNotFoundError: No module named 'pytest_env_defaults'"
    evidence = Evidence("fixture", "config", ["tests/test_a.py::test_x"], {"tests/test_a.py::test_x": excerpt},
                        delta=_delta("conftest_import_error"))
    text = offline_issue(evidence)
    assert "pytest_env_defaults" not in text.instruction and "ModuleNotFoundError" in text.instruction


def test_the_symptom_is_the_exception_pytest_marked_with_its_message_not_the_bare_last_line():
    """A traceback ends in `path:15: AttributeError`; the `E` line before it says what was missing."""
    excerpt = ("AttributeError: module 'json' has no attribute '_speedups_dumps'\n>       obj_json = obj.toJSON()\n\n"
               "    def routed(*args, **kwargs):\n>       return getattr(module, impl)(*args, **kwargs)\n"
               "E       AttributeError: module 'json' has no attribute '_speedups_dumps'\n\n"
               "/opt/venv/lib/python3.11/site-packages/backports_accel.py:15: AttributeError\n")
    text = offline_issue(Evidence("fixture", "compat_shim", ["t::x"], {"t::x": excerpt},
                                  delta=[{"run": "touch /opt/venv/lib/python3.11/site-packages/backports_accel.py", "ok": True}]))
    assert "    AttributeError: module 'json' has no attribute '_speedups_dumps'\n" in text.instruction
    assert "backports_accel" not in text.instruction
    plain = offline_issue(Evidence("fixture", "config", ["t::x"], {"t::x": "x.py:3: in f\n    assert 1 == 2\nx.py:3: AssertionError"}))
    assert "x.py:3: AssertionError" in plain.instruction  # no `E` line: the last line naming an error, as before


def test_voices_differ_across_a_batch_and_scope_follows_the_repair():
    texts = {offline_issue(Evidence("fixture", "locale", ["t::x"], {}, seed=s)).instruction_hard.split("\n")[0]
             for s in range(5)}
    assert len(texts) == 5
    plain = offline_issue(Evidence("fixture", "locale", ["t::x"], {}))
    config = offline_issue(Evidence("fixture", "config", ["t::x"], {}, edits_testbed=True))
    assert SCOPE[0] in plain.instruction and SCOPE[0] not in config.instruction and SCOPE[1] in config.instruction
    assert "must not be modified" not in config.instruction
