"""Where a later layer of a compound break aims (`agents.targets`): on top of an earlier layer's
target where it shows there, never behind a layer that keeps that target from loading."""

from __future__ import annotations

from inversion.engine.episode.agents.builtin import LAYERING
from inversion.engine.episode.agents.targets import aim_rank, related, same_object
from inversion.engine.episode.faults import FaultPlan, family


def _plan(name: str, target: str) -> FaultPlan:
    fam = family(name)
    return FaultPlan(fam.name, fam.category, target, "", (), "")


def test_a_hiding_layer_first_puts_in_place_damage_to_its_target_last():
    blocker = _plan("sitecustomize_blocker", "pickle")  # beside: pickle never loads
    assert LAYERING["sitecustomize_blocker"] == "beside" and LAYERING["stdlib_py_tab_indent"] == "in_place"
    behind = _plan("stdlib_py_tab_indent", "pickle")
    elsewhere = _plan("stdlib_py_tab_indent", "statistics")
    ranked = sorted([behind, elsewhere], key=lambda p: aim_rank(p, [blocker], LAYERING))
    assert [p.target for p in ranked] == ["statistics", "pickle"]


def test_a_layer_on_top_of_in_place_damage_keeps_the_same_target_first():
    moved = _plan("stdlib_py_tab_indent", "pickle")
    on_top = _plan("sitecustomize_blocker", "pickle")  # removing it reveals the tab
    other = _plan("sitecustomize_blocker", "statistics")
    assert aim_rank(on_top, [moved], LAYERING) < aim_rank(other, [moved], LAYERING)
    assert aim_rank(other, [], LAYERING) == 1


def test_targets_relate_by_name_and_library_and_share_only_paths_as_objects():
    assert related("sqlite3", "libsqlite3.so.0") and related("email", "email.parser")
    assert not related("re", "pickle")
    assert same_object("/usr/lib/python3.11/pickle.py", "/usr/lib/python3.11/pickle.py")
    assert not same_object("pickle", "pickle")  # a module name may carry two layers
