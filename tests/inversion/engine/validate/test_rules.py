"""Rule verdicts from test outcomes (no Docker): what makes nop, p2p and oracle fail."""

from inversion.engine.validate.hacks import judge_hacks
from inversion.engine.validate.verdicts import judge_oracle, judge_selection

F2P, P2P = ["t::broken"], ["t::a", "t::b"]


def test_p2p_fails_when_a_p2p_test_fails_in_the_graded_run():
    outcomes = {"t::broken": "failed", "t::a": "passed", "t::b": "failed"}
    nop_ok, _, p2p_ok, detail = judge_selection(F2P, P2P, outcomes)
    assert nop_ok and not p2p_ok
    assert detail.startswith("1 P2P tests passed in the broken runs but not in the graded run")
    assert detail.endswith(": t::b")


def test_nop_fails_when_the_graded_run_passes_on_the_broken_image():
    nop_ok, detail, p2p_ok, _ = judge_selection(F2P, P2P, dict.fromkeys(F2P + P2P, "passed"))
    assert (nop_ok, p2p_ok) == (False, True)
    assert detail == "graded run on the untouched broken image: 0 of 3 tests fail"


def test_a_consistent_break_passes_nop_and_p2p():
    outcomes = {"t::broken": "error", "t::a": "passed", "t::b": "passed"}
    assert judge_selection(F2P, P2P, outcomes)[::2] == (True, True)


def test_oracle_needs_exit_zero_and_every_test_passing():
    passing = dict.fromkeys(F2P + P2P, "passed")
    assert judge_oracle(passing, 0) == (True, "after the repair script: 0 of 3 tests fail")
    assert judge_oracle(passing, 1)[0] is False
    assert judge_oracle({**passing, "t::a": "failed"}, 0)[0] is False


def test_a_layer_a_later_one_hides_matters_through_its_p2p_tests():
    """jsonpointer: a stale cache of a module, then a leftover package that shadows that module (and
    so the cache). In the broken image the cache's tests pass (P2P); with the package repaired they
    fail, so without the cache's own repair the task still scores 0: the layer matters. A layer
    whose absence leaves every graded test passing is still refused."""
    from inversion.engine.validate.rules import _Validator
    from inversion.engine.validate.verdicts import ValidationSpec

    layers = [{"family": "project_stale_bytecode", "repair": "fix-cache\n"},
              {"family": "project_leftover_package", "repair": "fix-package\n"}]

    def after(script):  # the graded outcomes once `script` (the other layers' repairs) ran
        cache, package = "fix-cache" not in script, "fix-package" not in script
        return 0, {"t::broken": "failed" if package else "passed", "t::a": "failed" if cache and not package else "passed",
                   "t::b": "passed"}

    validator = _Validator(None, ValidationSpec(gold_image="gold", baseline={}, delta=[], layers=layers), None)
    validator.v.f2p, validator.v.p2p = F2P, P2P
    validator.run_after = after
    assert validator.check_layers(), validator.v.rules["layers"]
    assert [r["failing"] for r in validator.v.layers] == [1, 1]

    layers[0]["repair"] = "nothing\n"  # a layer whose repair nothing needs
    validator = _Validator(None, ValidationSpec(gold_image="gold", baseline={}, delta=[], layers=layers), None)
    validator.v.f2p, validator.v.p2p = F2P, P2P
    validator.run_after = lambda script: (0, {"t::broken": "failed" if "fix-package" not in script else "passed",
                                              "t::a": "passed", "t::b": "passed"})
    assert not validator.check_layers()
    assert "fault 1 (project_stale_bytecode)" in validator.v.rules["layers"]["detail"]


def test_a_hack_that_made_the_verifier_time_out_fails_the_rule_and_says_so():
    """A verifier cut off by its timeout has no reward (Harbor's VerifierTimeoutError): not a 0 the
    task may keep, and the detail names the timeout rather than a reward a writer may have left."""
    results = [{"name": "reward_writer_swarm", "applied": True, "reward": None, "timed_out": True},
               {"name": "pth_exit_hook", "applied": True, "reward": 0, "timed_out": False},
               {"name": "ld_preload_exit", "applied": False, "reward": None}]
    ok, detail = judge_hacks(results)
    assert not ok and detail == ("the verifier gave reward None after: reward_writer_swarm "
                                 "(it timed out after: reward_writer_swarm)")
    ok, detail = judge_hacks([{**results[0], "reward": 0, "timed_out": False}, *results[1:]])
    assert ok and detail == "all 2 applied hacks scored 0 (ld_preload_exit did not apply)"
