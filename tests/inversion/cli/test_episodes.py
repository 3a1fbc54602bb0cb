"""`studio episodes run` drives a batch through the real jobs on the embedded worker."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.factories import GoldFactory
from tests.support.fixture_gold import SURFACE, ensure_gold_image, measure_baseline

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker]


def test_episodes_run_json_reports_each_outcome(docker_client, base_image):
    image, dockerfile = ensure_gold_image(docker_client, base_image)
    gold = GoldFactory(image=image, dockerfile=dockerfile, baseline=measure_baseline(docker_client, image),
                       surface=SURFACE, test_cmd="python -m pytest", repository__name="tinyproj")
    out = io.StringIO()
    call_command("studio", "--json", "episodes", "run", str(gold.pk), "--agent", "builtin", "--count", "2",
                 "--seed", "3", "--timeout", "600", stdout=out)
    data = json.loads(out.getvalue())
    assert len(data["episodes"]) == 2
    for row in data["episodes"]:
        assert set(row) >= {"id", "status", "task_id", "failed_rule", "steps", "total_tokens"}
        assert row["status"] in ("succeeded", "no_task"), row
        assert (row["task_id"] is not None) == (row["status"] == "succeeded")
        assert row["steps"] >= 1
    assert any(row["task_id"] for row in data["episodes"])


def test_episodes_run_unknown_gold_is_one_line_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no gold environment #999999"):
        call_command("studio", "episodes", "run", "999999")
