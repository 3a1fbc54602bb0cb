"""Materialize: Dockerfile lines, the offline issue writer, and an episode whose break is not valid."""

from __future__ import annotations

import pytest
from django.conf import settings

from inversion.engine.validate.issuewriter import Evidence, find_giveaways, giveaway_tokens, offline_issue
from inversion.engine.validate.materialize import broken_dockerfile, delta_lines
from inversion.models import Episode
from tasks.models import Task
from tasks.services.materialize import task_materialize
from tests.factories import EpisodeFactory, GoldFactory
from tests.support.fixture_gold import ensure_gold_image, measure_baseline


def test_delta_lines_keep_quoting_order_and_failed_commands():
    delta = [{"env": "LC_ALL", "value": 'x "y"'}, {"run": "echo 'a b' > /tmp/f\ncat <<EOF\nz\nEOF", "ok": True},
             {"run": "rm /nope", "ok": False}]
    lines = delta_lines(delta)
    assert lines[0] == 'ENV LC_ALL="x \\"y\\""'
    assert lines[1] == 'RUN ["/bin/bash", "-c", "echo \'a b\' > /tmp/f\\ncat <<EOF\\nz\\nEOF"]'
    assert lines[2] == 'RUN ["/bin/bash", "-c", "(\\nrm /nope\\n) || true"]'
    full, text = broken_dockerfile("FROM x\nWORKDIR /testbed\n\n", delta)
    assert full == "FROM x\nWORKDIR /testbed\n" + text and text.count("\n") == 3


def test_a_delta_that_sets_path_is_followed_by_the_toolbox_first_again():
    """A fault's directory put ahead on PATH is writable: a `bash` there would be what a harness
    runs. On a gold whose PATH has the verifier's toolbox, the broken Dockerfile ends with it first."""
    gold = "FROM x\nENV PATH=/studio-trust/bin:/opt/venv/bin:$PATH\n"
    delta = [{"run": "mkdir -p /opt/shim", "ok": True}, {"env": "PATH", "value": "/opt/shim:/usr/bin"}]
    full, text = broken_dockerfile(gold, delta)
    assert full.splitlines()[-1] == "ENV PATH=/studio-trust/bin:$PATH" and "studio-trust" not in text
    assert "studio-trust" not in broken_dockerfile(gold, delta[:1])[0].split("\n", 2)[2]  # PATH untouched
    assert "studio-trust" not in broken_dockerfile("FROM x\n", delta)[0]  # a gold without the toolbox


def test_offline_writer_describes_symptoms_without_giveaways():
    lib = "/opt/venv/lib/python3.11/site-packages/yaml/_yaml.cpython-311-x86_64-linux-gnu.so"
    evidence = Evidence(
        repo="pyyaml", category="shared_library", f2p=[f"tests/test_c.py::test_{i}" for i in range(12)],
        excerpts={"tests/test_c.py::test_0": f"Traceback...\nImportError: {lib}: invalid ELF header"},
        delta=[{"run": f"printf 'garbage' | dd of={lib} bs=1 count=7 conv=notrunc", "ok": True},
               {"env": "YAML_FORCE_C", "value": "1"}])
    tokens = giveaway_tokens(evidence)
    assert {"YAML_FORCE_C", lib} <= tokens and "python" not in tokens
    text = offline_issue(evidence)
    for variant in (text.instruction, text.instruction_hard):
        assert find_giveaways(variant, tokens) == []
        assert "tests/test_c.py::test_0" in variant and "4 more" in variant
        assert "invalid ELF header" in variant  # the symptom stays
    assert "Hint: look at how native extension modules" in text.instruction
    assert "Hint" not in text.instruction_hard and text.source == "writer"


def _validating_episode(docker_client, base_image, command: str, repair: str = "true") -> Episode:
    """An episode on the tiny gold whose whole break is `command`, handed over for validation."""
    image, dockerfile = ensure_gold_image(docker_client, base_image)
    gold = GoldFactory(image=image, dockerfile=dockerfile, baseline=measure_baseline(docker_client, image, runs=1))
    return EpisodeFactory(gold=gold, status=Episode.Status.VALIDATING, repair_script=repair,
                          result={"delta": [{"run": command, "ok": True}]})


def _own_labels(episode: Episode) -> list[str]:
    """Labels of this test's containers and images (other runs on the engine have other instances)."""
    return [f"studio.owner=episode:{episode.pk}", f"studio.instance={settings.STUDIO_INSTANCE}"]


@pytest.mark.django_db
@pytest.mark.docker
def test_break_that_changes_no_outcome_ends_as_no_task(docker_client, base_image):
    episode = _validating_episode(docker_client, base_image, "echo hi > /tmp/harmless")
    assert task_materialize(episode=episode) is None
    episode.refresh_from_db()
    assert episode.status == "no_task" and episode.failed_rule == "f2p" and "f2p" in episode.reason
    assert Task.objects.count() == 0
    rules = [e.payload for e in episode.events.filter(kind="validation")]
    assert rules[0]["rule"] == "rebuild" and rules[0]["ok"] and rules[1] == {**rules[1], "rule": "f2p", "ok": False}
    assert docker_client.images.list(filters={"label": _own_labels(episode)}) == []  # validation images are removed


@pytest.mark.django_db
@pytest.mark.docker
def test_a_broken_image_nothing_can_run_in_is_no_task_not_an_error(docker_client, base_image):
    """Seen with the 1.5B model: it deleted the dynamic loader. Every test "fails", but no container
    from the image stays up, so no agent could repair it: a failed rule, not a crashed validation."""
    episode = _validating_episode(docker_client, base_image, "rm /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    assert task_materialize(episode=episode) is None
    episode.refresh_from_db()
    assert episode.status == "no_task" and episode.failed_rule == "f2p", episode.reason
    detail = episode.events.get(kind="validation", payload__rule="f2p").payload["detail"]
    assert "the broken image is unusable: a container from it stops at once (exit code 127)" in detail
    assert not docker_client.containers.list(all=True, filters={"label": _own_labels(episode)})
    assert not docker_client.images.list(filters={"label": _own_labels(episode)})


@pytest.mark.django_db
@pytest.mark.docker
def test_a_crashed_validation_removes_the_image_it_built(docker_client, base_image, monkeypatch):
    from inversion.engine.validate import rules

    def engine_down(self):
        raise RuntimeError("engine down")

    monkeypatch.setattr(rules._Validator, "broken_runs", engine_down)
    episode = _validating_episode(docker_client, base_image, "echo hi > /tmp/harmless")
    assert task_materialize(episode=episode) is None
    episode.refresh_from_db()
    assert episode.status == "error" and "validation crashed: engine down" in episode.reason
    assert episode.events.filter(kind="validation", payload__rule="rebuild", payload__ok=True).exists()
    assert not docker_client.images.list(filters={"label": _own_labels(episode)})  # built, then removed


@pytest.mark.django_db
def test_second_materialize_caller_does_not_validate_again():
    """A redelivered job or a second caller finds the claim and does no second validation."""
    from django.utils import timezone

    episode = EpisodeFactory(status=Episode.Status.VALIDATING, validation_claimed_at=timezone.now())
    assert task_materialize(episode=episode) is None
    assert not episode.events.exists()  # nothing rebuilt, nothing recorded


def test_every_category_of_the_taxonomy_has_its_own_hint():
    from inversion.engine.episode.categories import CATEGORIES
    from inversion.engine.validate.issuewriter import CATEGORY_HINTS

    assert set(CATEGORY_HINTS) == set(CATEGORIES)
    assert len(set(CATEGORY_HINTS.values())) == len(CATEGORIES)


@pytest.mark.django_db
@pytest.mark.docker
def test_a_repair_script_that_fails_fails_the_oracle_even_when_the_tests_pass(docker_client, base_image):
    from tests.support.fixture_gold import BREAK, REPAIR

    episode = _validating_episode(docker_client, base_image, BREAK, repair=f"{REPAIR}\nexit 3\n")
    assert task_materialize(episode=episode) is None
    episode.refresh_from_db()
    assert (episode.status, episode.failed_rule) == ("no_task", "oracle")
    detail = episode.events.get(kind="validation", payload__rule="oracle").payload["detail"]
    assert detail == "the repair script exited with 3; after it 0 of 5 tests fail"


@pytest.mark.django_db
@pytest.mark.docker
def test_a_kept_step_that_never_ends_fails_the_rebuild_instead_of_hanging_it(docker_client, base_image, settings):
    """Before: `docker build` replayed it with no timeout and no limits; `sleep 100017` hung validation."""
    settings.STUDIO_VALIDATION_STEP_TIMEOUT = 3
    episode = _validating_episode(docker_client, base_image, "sleep 100017")
    assert task_materialize(episode=episode) is None
    episode.refresh_from_db()
    assert (episode.status, episode.failed_rule) == ("no_task", "rebuild")
    assert "step 1 did not finish within 3 s: sleep 100017" in episode.reason
    assert not docker_client.containers.list(all=True, filters={"label": _own_labels(episode)})


@pytest.mark.django_db
@pytest.mark.docker
def test_a_kept_fork_bomb_stays_inside_the_pids_limit_and_validation_ends(docker_client, base_image, settings):
    settings.STUDIO_VALIDATION_STEP_TIMEOUT = 10
    episode = _validating_episode(docker_client, base_image, "bomb() { bomb | bomb & }; bomb")
    assert task_materialize(episode=episode) is None
    episode.refresh_from_db()
    assert episode.status == "no_task" and episode.failed_rule in ("rebuild", "f2p"), episode.reason
    assert not docker_client.containers.list(all=True, filters={"label": _own_labels(episode)})


@pytest.mark.django_db
@pytest.mark.docker
def test_a_layer_that_adds_nothing_is_refused_and_becomes_a_dead_end_for_the_gold(docker_client, base_image):
    """*Every layer matters* refuses a second layer whose repair the task does not need; the next
    episodes of the gold read that family as a dead end (never laid on top again)."""
    from inversion.selectors.episodes import episode_dead_ends
    from tests.support.fixture_gold import BREAK, REPAIR

    episode = _validating_episode(docker_client, base_image, BREAK)
    harmless = "touch /tmp/harmless"
    layers = [{"family": "fixture_break", "category": "python_dependency", "target": "tinydep", "repair": REPAIR},
              {"family": "harmless_touch", "category": "filesystem", "target": "/tmp/harmless",
               "repair": "rm -f /tmp/harmless"}]
    episode.result = {"delta": [{"run": BREAK, "ok": True}, {"run": harmless, "ok": True}], "layers": layers}
    episode.repair_script = f"#!/bin/bash\nset -e\nrm -f /tmp/harmless\n{REPAIR}\n"
    episode.save()
    assert task_materialize(episode=episode) is None
    episode.refresh_from_db()
    assert (episode.status, episode.failed_rule) == ("no_task", "layers")
    assert episode.result["redundant_layers"] == ["harmless_touch"]
    assert episode_dead_ends(gold_id=episode.gold_id) == {"harmless_touch": 1}
