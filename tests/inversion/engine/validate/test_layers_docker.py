"""Compound tasks on a real validator: a 2-layer break validates (every layer matters), the same
break with a second layer that another repair already undoes is refused by rule 8, and a break whose
signature the gold already has is refused as a duplicate before any test run."""

from __future__ import annotations

import random

import pytest

from inversion.engine.episode.actions import RunCommand
from inversion.engine.episode.faults import PlanContext, family
from inversion.engine.episode.repairs import combined
from inversion.engine.episode.signature import families_key
from inversion.engine.validate.rules import remove_image, validate
from inversion.engine.validate.verdicts import ValidationSpec
from tests.support.faults_fixture import PASSING, SURFACE, ensure_faults_image

BASELINE = {"stable_passing": PASSING, "flaky": []}
MOVED = "/opt/venv/lib/python3.9/site-packages/six.py"


def _layer(plan) -> dict:
    return {"family": plan.family, "category": plan.category, "target": plan.target, "repair": plan.repair}


def _plans():
    """six moved to another Python's site-packages, then a stub `six.py` in /testbed on top: the
    stub's AttributeError shows first; removing it reveals the ModuleNotFoundError."""
    ctx = PlanContext(SURFACE, BASELINE)
    inner = next(p for p in (family("package_misplaced").plan(ctx, random.Random(s)) for s in range(30))
                 if p.target == "six")
    outer = next(p for p in (family("site_module_stub").plan(ctx, random.Random(s)) for s in range(30))
                 if p.target == "six")
    return inner, outer


def _delta(*plans) -> list[dict]:
    return [{"run": a.command, "ok": True} for p in plans for a in p.actions if isinstance(a, RunCommand)]


def _spec(image, layers, delta, **kw) -> ValidationSpec:
    return ValidationSpec(gold_image=image, baseline=BASELINE, delta=delta, repair_script=combined(layers),
                          instance="pytest", owner="layers-test", layers=layers, category=layers[-1]["category"],
                          test_timeout=300, **kw)


@pytest.fixture(scope="module")
def image(docker_client, base_image):
    return ensure_faults_image(docker_client, base_image)


@pytest.mark.docker
def test_two_layers_validate_and_a_duplicate_signature_is_refused(docker_client, image):
    inner, outer = _plans()
    layers = [_layer(inner), _layer(outer)]
    result = validate(docker_client, _spec(image, layers, _delta(inner, outer)))
    remove_image(docker_client, result.image)
    assert result.ok, result.rules
    assert result.rules["layers"]["ok"] and "every one of 2 faults matters" in result.rules["layers"]["detail"]
    assert [r["failing"] > 0 for r in result.layers] == [True, True]
    assert {t.split("::")[0] for t in result.f2p} == {"tests/test_six.py"}  # the first symptom: the stub
    assert any("AttributeError" in e for e in result.excerpts.values())
    sig = result.signature
    assert [la["kind"] for la in sig["layers"]] == ["package_misplaced", "site_module_stub"]
    assert "/testbed/six.py" in sig["paths"]

    again = validate(docker_client, _spec(image, layers, _delta(inner, outer),
                                          known_signatures={sig["key"]: "fixture-six-aaaa"}))
    remove_image(docker_client, again.image)
    assert (again.ok, again.failed_rule) == (False, "duplicate")
    assert "fixture-six-aaaa" in again.rules["duplicate"]["detail"] and not again.f2p  # refused before test runs
    # the same two families on other targets: one task per set of families (two episodes that claimed
    # one set at the same moment are caught here)
    other = validate(docker_client, _spec(image, layers, _delta(inner, outer),
                                          known_signatures={families_key(sig): "fixture-yaml-bbbb"}))
    remove_image(docker_client, other.image)
    assert (other.ok, other.failed_rule) == (False, "duplicate")
    assert "same fault families" in other.rules["duplicate"]["detail"] and "fixture-yaml-bbbb" in other.rules["duplicate"]["detail"]


@pytest.mark.docker
def test_a_redundant_second_layer_is_refused_by_every_layer_matters(docker_client, image):
    """The second "fault" only touches the moved file, which the first repair puts back anyway."""
    inner, _ = _plans()
    redundant = {"family": "touch_moved_copy", "category": "filesystem", "target": "six.py", "repair": "true\n"}
    delta = _delta(inner) + [{"run": f"touch {MOVED}", "ok": True}]
    result = validate(docker_client, _spec(image, [_layer(inner), redundant], delta))
    remove_image(docker_client, result.image)
    assert (result.ok, result.failed_rule) == (False, "layers"), result.rules
    detail = result.rules["layers"]["detail"]
    assert "fault 2 (touch_moved_copy)" in detail and "adds nothing" in detail
    assert result.rules["oracle"]["ok"]  # the task itself repairs fine: only the layer is redundant
