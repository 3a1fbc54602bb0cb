"""The gold set-up loop on one tiny project per failure class seen on unseen repositories: each
becomes gold through the loop with no hand edit, every attempt recorded, and the order-dependent
pair is set aside (and never counted by an episode)."""

from __future__ import annotations

import pytest

from inversion.models import Episode, GoldEnvironment
from inversion.services.episodes import episode_batch_launch, episode_run
from inversion.services.golds import gold_build
from inversion.services.repositories import repository_add, repository_add_spec
from tests.inversion.conftest import git_repo_of
from tests.support.paths import FIXTURES

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker]


def _gold(spec: str = "", **add) -> GoldEnvironment:
    repo, _ = repository_add_spec(spec=spec) if spec else repository_add(**add)
    gold = gold_build(repository=repo)
    assert gold.status == GoldEnvironment.Status.READY, (gold.error, gold.attempts)
    return gold


def test_an_old_conftest_hook_gets_the_pytest_of_its_release(tmp_path, docker_client, base_image):
    url = git_repo_of(FIXTURES / "setup_old_pytest", tmp_path, date="2021-06-01T12:00:00+00:00")
    gold = _gold(kind="git", location=url, ref="main")
    first, last = gold.attempts[0], gold.attempts[-1]
    assert first["status"] == "failed" and "PluginValidationError" in first["reason"]
    assert "pytest==6.2.5" in last["change"] and "pytest==6.2.5" in gold.dockerfile
    assert gold.first_dockerfile != gold.dockerfile and "pytest==" not in gold.first_dockerfile
    # the hook works again: the file it ignores is not collected, the three real tests pass
    assert sorted(gold.baseline["stable_passing"]) == [
        "test_oldhook.py::test_slug", "test_oldhook.py::test_slug_single", "test_oldhook.py::test_slug_spaces"]


def test_undeclared_test_dependencies_are_found_from_what_fails(docker_client, base_image):
    gold = _gold(f"path:{FIXTURES / 'setup_undeclared'}")
    changes = " / ".join(a["change"] for a in gold.attempts)
    assert "pytest-timeout" in changes  # --timeout in addopts: the plugin that adds it
    assert "freezegun" in changes and "PyYAML" in changes  # import yaml -> the PyYAML distribution
    assert gold.counts["passed"] == 3 and gold.counts["failed"] == gold.counts["error"] == 0
    assert len(gold.attempts) <= 3


def test_a_c_extension_gets_its_headers_and_a_version_without_vcs_metadata(docker_client, base_image):
    gold = _gold(f"path:{FIXTURES / 'setup_native'}")
    changes = " / ".join(a["change"] for a in gold.attempts)
    assert "libbz2-dev" in changes and "libbz2-dev" in gold.dockerfile
    assert "SETUPTOOLS_SCM_PRETEND_VERSION" in gold.dockerfile
    assert all(a["status"] == "failed" for a in gold.attempts[:-1]) and gold.attempts[-1]["status"] == "ready"
    assert gold.counts["passed"] == 2


def test_tests_that_pass_only_together_are_set_aside_and_never_counted(alice, docker_client, base_image):
    gold = _gold(f"path:{FIXTURES / 'setup_order'}")
    pair = "test_registry.py::test_lookup_default"
    assert gold.baseline["order_dependent"] == [pair]
    assert pair not in gold.baseline["stable_passing"] and len(gold.baseline["stable_passing"]) == 4
    assert gold.counts["order_dependent"] == 1 and len(gold.attempts) == 1
    for episode in episode_batch_launch(golds=[gold], count=2, agent="builtin", user=alice, seed=5):
        episode = episode_run(episode=episode, handoff=False)
        assert episode.status in (Episode.Status.VALIDATING, Episode.Status.NO_TASK), episode.reason
        runs = list(episode.events.filter(kind="tests"))
        assert runs and all(pair not in ev.payload.get("newly_failing", []) for ev in runs)


def test_a_build_that_hangs_is_a_clear_timeout_and_leaves_no_image(tmp_path, settings, docker_client, base_image):
    (tmp_path / "setup.py").write_text("import time\ntime.sleep(3600)  # a build step that never ends\n")
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    settings.STUDIO_BUILD_TIMEOUT = 20
    repo, _ = repository_add(kind="path", location=str(tmp_path), ref="")
    gold = gold_build(repository=repo)
    assert gold.status == GoldEnvironment.Status.FAILED and gold.failure_kind == "timeout"
    assert gold.error == "build exceeded its 20 s timeout" and len(gold.attempts) == 1
    assert not docker_client.images.list(name=gold.attempts[0]["image"])


def test_a_usable_gold_goes_on_while_each_change_uncovers_the_next_missing_import(docker_client, base_image):
    gold = _gold(f"path:{FIXTURES / 'setup_chained'}")
    changes = [a["change"] for a in gold.attempts]
    # the first attempt is usable (2 pass) and yaml is missing; with PyYAML the count stays 2 and
    # toml is missing instead: the loop must not settle for the first attempt there
    assert gold.attempts[0]["status"] == "ready" and gold.attempts[0]["passing"] == 2
    assert "PyYAML" in changes[1] and "toml" in changes[2], changes
    assert gold.attempts[1]["passing"] == 2 and "toml" in gold.attempts[1]["reason"]
    assert gold.counts["passed"] == 4 and "toml" in gold.dockerfile and "PyYAML" in gold.dockerfile
