"""The whole method on a real PyPI sdist: gold build -> built-in agent episode -> materialize ->
validated draft task (F2P >= 1, nop fails, oracle passes). Gold images are cached by content hash."""

from __future__ import annotations

import pytest

from inversion.models import Episode
from inversion.services.episodes import episode_batch_launch, episode_run
from inversion.services.golds import gold_build
from inversion.services.repositories import repository_add_spec
from tasks.services.materialize import task_materialize

pytestmark = [pytest.mark.django_db, pytest.mark.docker]
SDIST = "pypi:markupsafe==2.1.5"


def test_builtin_agent_makes_a_validated_task_from_a_real_sdist(alice, docker_client, base_image):
    repo, _ = repository_add_spec(spec=SDIST)
    gold = gold_build(repository=repo)
    assert gold.status == "ready", gold.error
    task = None
    for episode in episode_batch_launch(golds=[gold], count=3, agent="builtin", user=alice, seed=11):
        episode = episode_run(episode=episode, handoff=False)
        assert episode.status in (Episode.Status.VALIDATING, Episode.Status.NO_TASK), episode.reason
        if episode.status == Episode.Status.VALIDATING:
            task = task_materialize(episode=episode)
            episode.refresh_from_db()
            if task is not None:
                break
            assert episode.failed_rule, episode.reason
    assert task is not None, "three seeded built-in episodes made no valid task"
    rules = task.validation["rules"]
    assert len(task.fail_to_pass) >= 1 and rules["f2p"]["ok"]
    assert rules["rebuild"]["ok"] and rules["nop"]["ok"] and rules["oracle"]["ok"] and not task.oracle_missing
    assert set(task.fail_to_pass).isdisjoint(task.pass_to_pass)
    assert set(task.fail_to_pass) <= set(gold.baseline["stable_passing"])
    assert task.dockerfile.startswith(gold.dockerfile.rstrip()) and task.dockerfile_delta.strip()
    assert task.current_revision.instruction and task.current_revision.instruction_hard
    assert all(task.failure_excerpts.get(t) for t in task.fail_to_pass)
    assert task.episode.status == Episode.Status.SUCCEEDED and task.category == task.episode.category
