"""Untrusted text is storable wherever it is saved: NUL and lone surrogates are escaped visibly, on
the real database of the run (pass 2 of `make test` runs this on PostgreSQL, which rejects them)."""

from __future__ import annotations

import pytest

from inversion.models import BuildEvent
from inversion.services.events import episode_event_add
from studio.lib.text import storable
from tasks.models import ValidationRun
from tasks.services import review
from tests.factories import EpisodeFactory, GoldFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_storable_escapes_nul_and_lone_surrogates_everywhere_in_a_value():
    assert storable("before\x00after") == "before\\x00after"
    assert storable({"k\x00": ["a\x00", ("b\udcff",)], "n": 3}) == {"k\\x00": ["a\\x00", ("b\\udcff",)], "n": 3}
    assert storable("plain ünïcode") == "plain ünïcode"


def test_an_event_with_a_nul_in_its_output_is_stored_and_readable():
    episode = EpisodeFactory()
    event = episode_event_add(episode_id=episode.pk, kind="command",
                              payload={"command": "printf 'before\\0after'", "output": "before\x00after", "exit_code": 0})
    event.refresh_from_db()
    assert event.payload["output"] == "before\\x00after"


def test_build_logs_validation_runs_episode_fields_and_model_text_are_storable(alice, settings, chat_server):
    gold = GoldFactory(build_log="pip says \x00", error="broken \x00", baseline={"tests": {"t": {"message": "m\x00"}}})
    gold.save()
    BuildEvent.objects.create(gold=gold, seq=1, text="line\x00\n")
    episode = EpisodeFactory(gold=gold, reason="x\x00", result={"delta": [{"run": "echo \x00", "ok": True}]})
    task = TaskFactory(text="first", failure_excerpts={"t": "E\x00"})
    ValidationRun.objects.bulk_create([ValidationRun(task=task, rule="broken", ok=True,
                                                     outcomes=storable({"t\x00": "failed"}), log=storable("l\x00"))])
    settings.OPENAI_BASE_URL, settings.STUDIO_LLM_MODEL = chat_server.base_url, chat_server.model
    chat_server.text('{"instruction": "Tests fail.\\u0000 Hint: x", "instruction_hard": "Tests fail.\\u0000"}')
    revision = review.task_text_regenerate(task=task, user=alice, base_version=1)
    for obj in (gold, episode, task, revision):
        obj.refresh_from_db()
    assert gold.build_log == "pip says \\x00" and gold.baseline["tests"]["t"]["message"] == "m\\x00"
    assert episode.result["delta"][0]["run"] == "echo \\x00" and task.failure_excerpts == {"t": "E\\x00"}
    assert revision.instruction_hard.startswith("Tests fail.\\x00")
    assert ValidationRun.objects.get(task=task).outcomes == {"t\\x00": "failed"}
