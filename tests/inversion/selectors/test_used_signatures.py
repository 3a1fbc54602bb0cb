"""What the built-in agent's guard is told about its gold: tasks made, breaks awaiting validation and
plans other running episodes claimed (so a batch does not repeat itself before validation catches up)."""

from __future__ import annotations

import pytest

from inversion.selectors.episodes import (
    episode_blind_layers,
    episode_dead_ends,
    episode_hiders,
    episode_lone_layers,
    episode_no_targets,
    episode_used_signatures,
)
from inversion.services.events import episode_event_add
from tests.factories import EpisodeFactory, GoldFactory


@pytest.fixture
def gold(db):
    return GoldFactory()


def test_made_pending_and_claimed_faults_all_count_but_not_the_asking_episode(gold):
    made = EpisodeFactory(gold=gold, status="succeeded", result={"signature": {
        "key": "k1", "label": "pth_module_block(six)", "layers": [{"kind": "pth_module_block", "target": "six"}]}})
    EpisodeFactory(gold=gold, status="validating", result={"layers": [
        {"family": "stale_bytecode", "category": "bytecode_cache", "target": "yaml/__init__.py", "summary": "s"}]})
    running = EpisodeFactory(gold=gold, status="running")
    episode_event_add(episode_id=running.pk, kind="thought", payload={"text": "trying a", "claim": {
        "layers": [{"kind": "locale_missing", "category": "locale", "target": "de_DE.UTF-#"}]}})
    episode_event_add(episode_id=running.pk, kind="thought", payload={"text": "trying b", "claim": {
        "layers": [{"kind": "tz_path_env", "category": "timezone", "target": "TZDIR"}]}})
    asking = EpisodeFactory(gold=gold, status="running")
    episode_event_add(episode_id=asking.pk, kind="thought", payload={"text": "mine", "claim": {
        "layers": [{"kind": "mime_types_override", "target": "mime.types"}]}})
    EpisodeFactory(gold=gold, status="no_task", result={"layers": [{"family": "exec_bit_removed", "target": "git"}]})
    EpisodeFactory(status="validating", result={"layers": [{"family": "ca_store_wiped", "target": "x"}]})  # another gold

    used = episode_used_signatures(gold_id=gold.pk, exclude=asking.pk)
    kinds = [[la["kind"] for la in sig["layers"]] for sig in used]
    assert kinds == [["pth_module_block"], ["stale_bytecode"], ["tz_path_env"]]  # a running one: its latest claim
    assert used[0]["key"] == "k1" and made.pk
    assert used[1]["layers"][0]["target"] == "yaml/__init__.py" and used[1]["key"].startswith("episode:")
    assert [sig["label"] for sig in used] == ["pth_module_block(six)", "stale_bytecode(yaml/__init__.py)",
                                              "tz_path_env(TZDIR)"]  # the LLM prompt lists them as themes
    assert "mime_types_override" in str(episode_used_signatures(gold_id=gold.pk))


def test_made_tasks_say_how_many_tests_they_fail(gold):
    EpisodeFactory(gold=gold, status="succeeded", result={"newly_failing": ["a", "b", "c"], "signature": {
        "key": "k1", "label": "x", "layers": [{"kind": "pth_module_block", "target": "six"}]}})
    EpisodeFactory(gold=gold, status="validating", result={"newly_failing": ["a"], "layers": [
        {"family": "stale_bytecode", "category": "bytecode_cache", "target": "yaml"}]})
    assert [sig["failing"] for sig in episode_used_signatures(gold_id=gold.pk)] == [3, 1]


def test_dead_ends_count_families_that_broke_nothing_on_this_gold_only(gold):
    first, second = EpisodeFactory(gold=gold, status="no_task"), EpisodeFactory(gold=gold, status="succeeded")
    for episode, family in ((first, "locale_missing"), (first, "nss_hosts_unavailable"), (second, "locale_missing")):
        episode_event_add(episode_id=episode.pk, kind="thought",
                          payload={"text": f"{family} broke no stably passing test", "dead_end": family})
    episode_event_add(episode_id=second.pk, kind="thought", payload={"text": "trying something else"})
    elsewhere = EpisodeFactory(status="no_task")  # another gold
    episode_event_add(episode_id=elsewhere.pk, kind="thought", payload={"text": "t", "dead_end": "mime_types_override"})
    assert episode_dead_ends(gold_id=gold.pk) == {"locale_missing": 2, "nss_hosts_unavailable": 1}
    assert episode_dead_ends(gold_id=gold.pk, exclude=second.pk) == {"locale_missing": 1, "nss_hosts_unavailable": 1}
    # a layer validation found to add nothing (rule `layers`) is a dead end too
    refused = EpisodeFactory(gold=gold, status="no_task", result={"redundant_layers": ["warnings_policy_module"]})
    EpisodeFactory(status="no_task", result={"redundant_layers": ["locale_missing"]})  # another gold
    assert episode_dead_ends(gold_id=gold.pk) == {"locale_missing": 2, "nss_hosts_unavailable": 1,
                                                  "warnings_policy_module": 1}
    assert "warnings_policy_module" not in episode_dead_ends(gold_id=gold.pk, exclude=refused.pk)


def test_lone_first_layers_are_counted_per_gold_and_apart_from_dead_ends(gold):
    """A compound's first layer undone because nothing fitted on top: later compound episodes of this
    gold start from it last; it broke tests, so it is no dead end (it may still be a later layer)."""
    first, second = EpisodeFactory(gold=gold, status="no_task"), EpisodeFactory(gold=gold, status="succeeded")
    for episode, family in ((first, "conftest_import_error"), (first, "pythonpath_stub"),
                            (second, "conftest_import_error")):
        episode_event_add(episode_id=episode.pk, kind="thought", payload={
            "text": f"no further layer fits, and {family} alone repeats a task this gold has", "lone": family})
    elsewhere = EpisodeFactory(status="no_task")  # another gold
    episode_event_add(episode_id=elsewhere.pk, kind="thought", payload={"text": "t", "lone": "site_module_stub"})
    assert episode_lone_layers(gold_id=gold.pk) == {"conftest_import_error": 2, "pythonpath_stub": 1}
    assert episode_lone_layers(gold_id=gold.pk, exclude=first.pk) == {"conftest_import_error": 1}
    assert episode_dead_ends(gold_id=gold.pk) == {}


def test_families_that_found_no_target_are_named_per_gold(gold):
    """A step that exited NO_TARGET (no optional import here): later episodes of this gold skip the
    family altogether, where a dead end is only tried last."""
    first = EpisodeFactory(gold=gold, status="no_task")
    episode_event_add(episode_id=first.pk, kind="thought", payload={
        "text": "a step of optional_accelerator_half_installed failed (exit 3)",
        "dead_end": "optional_accelerator_half_installed", "no_target": "optional_accelerator_half_installed"})
    elsewhere = EpisodeFactory(status="no_task")  # another gold
    episode_event_add(episode_id=elsewhere.pk, kind="thought", payload={"text": "t", "no_target": "project_truncated_module"})
    assert episode_no_targets(gold_id=gold.pk) == {"optional_accelerator_half_installed"}
    assert episode_no_targets(gold_id=gold.pk, exclude=first.pk) == set()


def test_later_layers_that_hid_a_partial_one_are_named_per_gold(gold):
    """family|target marks of layers undone for failing every test over a partial first layer."""
    first = EpisodeFactory(gold=gold, status="no_task")
    episode_event_add(episode_id=first.pk, kind="thought", payload={
        "text": "site_module_stub would fail every test and hide the faults below it", "hides": "site_module_stub|lxml"})
    elsewhere = EpisodeFactory(status="no_task")  # another gold
    episode_event_add(episode_id=elsewhere.pk, kind="thought", payload={"text": "t", "hides": "pythonpath_stub|lxml"})
    assert episode_hiders(gold_id=gold.pk) == {"site_module_stub|lxml"}
    assert episode_hiders(gold_id=gold.pk, exclude=first.pk) == set()


def test_later_layers_that_changed_nothing_are_counted_per_gold(gold):
    """`blind` marks: later layers undone because nothing that fails changed; no dead end."""
    first, second = EpisodeFactory(gold=gold, status="no_task"), EpisodeFactory(gold=gold, status="succeeded")
    for episode in (first, first, second):
        episode_event_add(episode_id=episode.pk, kind="thought", payload={
            "text": "instrumentation_wrapper_drops_result changed nothing that fails",
            "blind": "instrumentation_wrapper_drops_result"})
    elsewhere = EpisodeFactory(status="no_task")  # another gold
    episode_event_add(episode_id=elsewhere.pk, kind="thought", payload={"text": "t", "blind": "stale_bytecode"})
    assert episode_blind_layers(gold_id=gold.pk) == {"instrumentation_wrapper_drops_result": 3}
    assert episode_blind_layers(gold_id=gold.pk, exclude=first.pk) == {"instrumentation_wrapper_drops_result": 1}
    assert episode_dead_ends(gold_id=gold.pk) == {}
