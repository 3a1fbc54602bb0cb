"""Episode services end to end on the fixture gold: launch -> run -> materialize -> draft task."""

from __future__ import annotations

import pytest

from inversion.engine.episode import agents
from inversion.engine.validate.hacks import load_hacks
from inversion.models import Episode
from inversion.selectors.episodes import episode_used_themes
from inversion.services.episodes import episode_batch_launch, episode_cancel, episode_run
from studio.lib.exceptions import ApplicationError
from tasks.models import Task
from tasks.services.materialize import task_materialize
from tests.factories import GoldFactory
from tests.support.fixture_gold import ensure_gold_image, measure_baseline

pytestmark = pytest.mark.django_db


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setitem(agents.AGENT_KINDS, "scripted", "tests.support.fixture_gold.ScriptedAgent")


@pytest.fixture(scope="module")
def tiny(docker_client, base_image):
    image, dockerfile = ensure_gold_image(docker_client, base_image)
    return image, dockerfile, measure_baseline(docker_client, image)


@pytest.fixture
def gold(tiny):
    image, dockerfile, baseline = tiny
    return GoldFactory(image=image, dockerfile=dockerfile, baseline=baseline, test_cmd="python -m pytest",
                       repository__name="tinyproj")


def test_launch_refuses_bad_input(alice):
    gold = GoldFactory(status="building")
    with pytest.raises(ApplicationError, match="not ready"):
        episode_batch_launch(golds=[gold], count=1, agent="builtin", user=alice)
    with pytest.raises(ApplicationError, match="unknown agent"):
        episode_batch_launch(golds=[gold], count=1, agent="nope", user=alice)
    ready = GoldFactory()
    with pytest.raises(ApplicationError, match="model"):
        episode_batch_launch(golds=[ready], count=1, agent="llm", user=alice, base_url="")


def test_compound_episodes_get_steps_and_time_for_each_layer_unless_the_curator_set_them(alice, scripted,
                                                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        (two,) = episode_batch_launch(golds=[GoldFactory()], count=1, agent="scripted", user=alice, faults=2)
        (one,) = episode_batch_launch(golds=[GoldFactory()], count=1, agent="scripted", user=alice)
        (set_,) = episode_batch_launch(golds=[GoldFactory()], count=1, agent="scripted", user=alice, faults=2,
                                       budget={"steps": 9})
    assert two.config["budget"]["max_steps"] == 2 * one.config["budget"]["max_steps"]
    assert two.config["budget"]["max_seconds"] == 2 * one.config["budget"]["max_seconds"]
    assert set_.config["budget"]["max_steps"] == 9


def test_the_whole_suite_share_goes_from_the_batch_to_the_agent(alice, django_capture_on_commit_callbacks):
    from inversion.services.episodes import _context

    with pytest.raises(ApplicationError, match="whole_share"):
        episode_batch_launch(golds=[GoldFactory()], count=1, agent="builtin", user=alice, whole_share=1.5)
    with django_capture_on_commit_callbacks(execute=False):
        (capped,) = episode_batch_launch(golds=[GoldFactory()], count=1, agent="builtin", user=alice, whole_share=0.5)
        (default,) = episode_batch_launch(golds=[GoldFactory()], count=1, agent="builtin", user=alice)
    assert capped.config["whole_share"] == 0.5 and _context(capped).whole_share == 0.5
    assert "whole_share" not in default.config and _context(default).whole_share is None


def test_cancel_before_start_stops_the_episode(alice, scripted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (episode,) = episode_batch_launch(golds=[GoldFactory()], count=1, agent="scripted", user=alice,
                                          budget={"steps": 7, "minutes": 2})
    assert len(callbacks) == 1  # the job is enqueued only after the commit
    assert episode.config["budget"]["max_steps"] == 7 and episode.config["budget"]["max_seconds"] == 120
    episode = episode_cancel(episode=episode, user=alice)
    assert episode.status == "cancelled"
    assert episode_run(episode=episode).status == "cancelled"  # a late job does nothing
    assert list(episode.events.values_list("seq", flat=True)) == [1]


@pytest.mark.docker
def test_episode_to_validated_draft_task(alice, gold, scripted, django_capture_on_commit_callbacks):
    (episode,) = episode_batch_launch(golds=[gold], count=1, agent="scripted", user=alice)
    with django_capture_on_commit_callbacks(execute=False) as handover:
        episode = episode_run(episode=episode)
    assert episode.status == Episode.Status.VALIDATING, episode.reason
    assert len(handover) == 1
    assert episode.category == "python_dependency" and episode.steps == 4 and episode.prompt_tokens == 12

    with django_capture_on_commit_callbacks(execute=True):
        task = task_materialize(episode=episode)
    episode.refresh_from_db()
    assert task is not None and episode.status == Episode.Status.SUCCEEDED, (episode.reason, list(episode.events.filter(kind="validation").values_list("payload", flat=True)))
    assert task.slug.startswith("tinyproj-python_dependency-") and task.state == "draft"
    assert set(task.fail_to_pass) == {"tests/test_dep.py::test_double", "tests/test_dep.py::test_double_neg"}
    assert len(task.pass_to_pass) == 3 and task.validation["rules"]["nop"]["ok"]
    assert task.validation["rules"]["oracle"]["ok"] and not task.oracle_missing
    assert task.dockerfile_delta.count("\n") == 2 and "tinydep" in task.dockerfile
    rev = task.current_revision
    assert rev.number == 1 and rev.source == "writer"
    for text in (rev.instruction, rev.instruction_hard):
        assert "tests/test_dep.py::test_double" in text
        assert "tinydep.py" not in text and "TINY_FLAG" not in text and "site-packages" not in text
    assert "Hint:" in rev.instruction and "Hint:" not in rev.instruction_hard
    assert list(task.validation_runs.values_list("rule", flat=True)) == [
        "rebuild", "broken", "broken", "graded", "nop", "oracle"]
    hacks = task.validation["hacks"]
    assert len(hacks) == len(load_hacks()) and all(h["applied"] and h["reward"] == 0 for h in hacks), hacks
    assert task.validation["rules"]["hacks"] == {"ok": True, "detail": f"all {len(load_hacks())} applied hacks scored 0"}
    # TINY_FLAG names no directory; the fault's own file is the broken image's one difference
    assert task.integrity == {"dirty": ["/opt/venv/lib/python3.11/site-packages/tinydep.py"]}
    seqs = list(episode.events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    kinds = list(episode.events.values_list("kind", flat=True))
    assert kinds.count("validation") == 6 and kinds[-1] == "status"
    assert episode_used_themes(repository_id=gold.repository_id) == ["python_dependency"]
    assert Task.objects.count() == 1


@pytest.mark.docker
def test_llm_episode_records_tokens_and_llm_issue_text(alice, gold, chat_server):
    from tests.support.fixture_gold import BREAK, REPAIR

    chat_server.tool_call("act", {"action": "run_command", "command": BREAK}, usage=(500, 40))
    chat_server.empty(usage=(520, 0))
    chat_server.tool_call("act", {"action": "finish", "category": "dependency", "summary": "s",
                                  "repair_script": REPAIR}, usage=(600, 50))
    chat_server.text('{"instruction": "Two tests fail with ImportError. Hint: packages.", '
                     '"instruction_hard": "Two tests fail with ImportError."}', usage=(300, 30))
    (episode,) = episode_batch_launch(golds=[gold], count=1, agent="llm", model=chat_server.model,
                                      base_url=chat_server.base_url, user=alice)
    episode = episode_run(episode=episode, handoff=False)
    assert episode.status == Episode.Status.VALIDATING, episode.reason
    assert episode.category == "python_dependency"  # the model's own word, mapped onto the taxonomy
    assert (episode.prompt_tokens, episode.completion_tokens) == (1620, 90)
    assert sum(episode.events.values_list("prompt_tokens", flat=True)) == 1620
    assert episode.events.filter(kind="error").count() == 1
    task = task_materialize(episode=episode)
    assert task is not None and task.current_revision.source == "llm"
    assert task.current_revision.instruction_hard.startswith("Two tests fail with ImportError.\n\nWhen the repair is graded")
    assert (task.prompt_tokens, task.completion_tokens) == (1920, 120)


def test_the_closing_status_event_is_stored_after_the_row_says_so(alice, scripted, monkeypatch):
    """A live viewer renders the episode's status from the row beside each event; the loop's last
    event must find the row final (status, tokens), or the page shows it running for good (the
    local-model browser test waited 12 minutes on such a page)."""
    from inversion.engine.episode.loop import EpisodeResult
    from inversion.services import episodes as service

    def fake_run(client, spec, agent, context, *, emit, should_cancel):
        emit("status", {"status": "running", "message": "container x"}, 0, 0, 0)
        emit("error", {"message": "bad tool call"}, 5, 100, 28)
        emit("status", {"status": "no_task", "message": "budget: 1 steps used"}, 0, 0, 0)
        return EpisodeResult(status="no_task", reason="budget: 1 steps used", steps=1, prompt_tokens=100,
                             completion_tokens=28)

    class Client:
        def close(self):
            pass

    seen = []
    real_add = service.episode_event_add

    def add(*, episode_id, kind, payload, **kw):
        row = Episode.objects.get(pk=episode_id)
        seen.append((kind, payload.get("status"), row.status, row.prompt_tokens + row.completion_tokens))
        return real_add(episode_id=episode_id, kind=kind, payload=payload, **kw)

    monkeypatch.setattr(service, "run_episode", fake_run)
    monkeypatch.setattr(service, "docker_client", Client)
    monkeypatch.setattr(service, "episode_event_add", add)
    (episode,) = episode_batch_launch(golds=[GoldFactory()], count=1, agent="scripted", user=alice)
    episode = episode_run(episode=episode)
    assert episode.status == "no_task"
    assert seen[-1] == ("status", "no_task", "no_task", 128)  # stored last, after the row
    assert [kind for kind, *_ in seen] == ["status", "error", "status"]
    assert list(episode.events.values_list("seq", flat=True)) == [1, 2, 3]
