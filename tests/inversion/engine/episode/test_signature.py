"""Fault signatures: normalisation, duplicates, the near-duplicate measure and clusters."""

from __future__ import annotations

import random

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import PlanContext, families, family
from inversion.engine.episode.signature import (
    NEAR_DUP,
    clusters,
    infer_kind,
    leaves,
    near_duplicates,
    normalise,
    path_set,
    signature_of,
    similarity,
)
from tests.support.faults_fixture import SURFACE

TEXT = ("The test suite of `x` used to pass in this environment, but now 2 tests fail when running `python -m "
        "pytest` in `/testbed`. Find out what is wrong with the environment and repair it so that it passes.")


def _sig(plan, touched):
    delta = [{"run": a.command, "ok": True} if isinstance(a, RunCommand) else {"env": a.name, "value": a.value}
             for a in plan.actions]
    return signature_of(layers=[{"family": plan.family, "category": plan.category, "target": plan.target}],
                        delta=delta, touched=touched)


def test_version_parts_are_normalised_and_only_leaves_count():
    assert normalise("/usr/lib/python3.11/site-packages/") == "/usr/lib/python#/site-packages"
    assert normalise("libssl.so.3.0.2") == "libssl.so.#"
    assert leaves(["/usr", "/usr/lib", "/usr/lib/a.so", "/root/.cache/pip/x", "/tmp/x"]) == ["/tmp/x", "/usr/lib/a.so"]
    many = [f"/opt/compat/pkg/m{chr(97 + i % 26)}{chr(97 + i // 26)}.py" for i in range(60)] + ["/etc/x.conf"]
    assert path_set(many, limit=10) == ["/etc/x.conf", "/opt/compat/pkg/*"]


def test_the_engines_init_and_the_parents_of_noise_are_not_part_of_a_break():
    """`docker diff` of every container run with an init lists the init and its copied-up parents;
    it was in every stored signature. The same break with and without it has one key."""
    diff = ["/usr", "/usr/sbin", "/usr/sbin/docker-init", "/root", "/root/.cache", "/root/.cache/pip/x",
            "/etc", "/etc/ld.so.conf.d", "/etc/ld.so.conf.d/zz.conf"]
    assert leaves(diff) == ["/etc/ld.so.conf.d/zz.conf"]
    plan = family("pythonpath_stub").plan(PlanContext(SURFACE), random.Random(0))
    assert _sig(plan, ["/opt/shared/python/six.py", "/usr/sbin/docker-init"])["key"] == \
        _sig(plan, ["/opt/shared/python/six.py"])["key"]


def test_equal_breaks_share_a_key_and_a_stub_for_another_dependency_is_a_near_duplicate():
    """The issue's example: a stub on PYTHONPATH for one dependency, then for another."""
    yaml = _sig(family("pythonpath_stub").plan(PlanContext(SURFACE), random.Random(0)), ["/opt/shared/python/six.py"])
    again = _sig(family("pythonpath_stub").plan(PlanContext(SURFACE), random.Random(0)), ["/opt/shared/python/six.py"])
    assert yaml["key"] == again["key"] and yaml["label"] == "pythonpath_stub(six)"
    other = signature_of(layers=[{"family": "pythonpath_stub", "category": "environment", "target": "yaml"}],
                         delta=[{"env": "PYTHONPATH", "value": "/opt/shared/python"}],
                         touched=["/opt/shared/python/yaml.py"])
    assert other["key"] != yaml["key"]
    assert similarity(yaml, other) == 1.0  # structurally the same fault with another target
    assert similarity(yaml, other, TEXT, TEXT) >= NEAR_DUP


def test_different_families_on_one_target_are_not_near_duplicates():
    ctx = PlanContext(SURFACE)
    moved = _sig(family("package_misplaced").plan(ctx, random.Random(1)), ["/opt/venv/lib/python3.9/site-packages/six.py"])
    stub = _sig(family("site_module_stub").plan(ctx, random.Random(1)), ["/testbed/six.py"])
    assert similarity(moved, stub, TEXT, TEXT) < NEAR_DUP


def test_every_family_gets_its_own_kind_and_a_readable_label():
    labels = set()
    for fam in families():
        plan = fam.plan(PlanContext(SURFACE, network=True), random.Random(0))
        sig = _sig(plan, [])
        assert sig["layers"][0]["kind"] == fam.name and sig["label"].startswith(fam.name)
        labels.add(sig["label"])
    assert len(labels) == len(families())


def test_llm_changes_are_classified_by_what_they_touched():
    assert infer_kind(["/etc/ld.so.conf.d/x.conf"], [], []) == ("ld_config", "x.conf")
    assert infer_kind(["/testbed/yaml.py"], [], []) == ("testbed_shadow", "yaml.py")
    assert infer_kind([], ["PYTHONPATH"], []) == ("env_pythonpath", "PYTHONPATH")
    assert infer_kind([], [], [{"run": "pip install 'six==1.0'"}])[0] == "package_version"
    sig = signature_of(layers=[{"family": "", "category": "config"}], delta=[],
                       touched=["/testbed", "/testbed/pytest.ini"])
    assert sig["layers"][0]["kind"] == "llm:test_config"


def test_clusters_join_near_duplicates_transitively():
    a = {"signature": {"key": "a", "layers": [{"kind": "k", "target": "xmod"}], "env": [], "paths": ["/p/xmod.py"]}}
    b = {"signature": {"key": "b", "layers": [{"kind": "k", "target": "ymod"}], "env": [], "paths": ["/p/ymod.py"]}}
    c = {"signature": {"key": "c", "layers": [{"kind": "other", "target": "z"}], "env": [], "paths": ["/q"]}}
    pairs = near_duplicates([a, b, c])
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]
    assert clusters(3, pairs) == [[0, 1]]
