"""The review workflow: roles, states, self-approval, and edits that never lose text."""

import pytest
from django.test import override_settings

from studio.lib.exceptions import ApplicationError
from tasks.models import Task
from tasks.services import review
from tests.factories import TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def _edit(task, user, text, base):
    return review.task_text_edit(task=task, user=user, instruction=text, instruction_hard=text + " (hard)",
                                 base_version=base)


def test_stale_edit_is_refused_and_shows_the_other_text(alice):
    carol = UserFactory(username="carol", roles=["curator"])
    task = TaskFactory(text="first")
    _edit(task, alice, "alice's text", base=1)
    with pytest.raises(review.StaleEditError) as err:
        _edit(task, carol, "carol's text", base=1)
    assert "alice saved revision 2" in err.value.message
    assert err.value.extra["instruction"] == "alice's text"
    task.refresh_from_db()
    assert task.version == 2 and task.current_revision.instruction == "alice's text"
    # carol saves again on top of alice's revision: both texts survive in the history
    _edit(task, carol, "carol's text", base=2)
    assert [r.instruction for r in task.revisions.order_by("number")] == ["first", "alice's text", "carol's text"]


def test_only_curators_edit_and_approved_text_is_frozen(alice, bob):
    task = TaskFactory(text="first")
    with pytest.raises(ApplicationError, match="Only curators"):
        _edit(task, bob, "x", base=1)
    task.state = Task.State.APPROVED
    task.save()
    with pytest.raises(ApplicationError, match="frozen"):
        _edit(task, alice, "x", base=1)


def test_full_cycle_submit_reject_send_back_approve(alice, bob):
    task = TaskFactory(text="first")
    review.task_submit(task=task, user=alice)
    with pytest.raises(ApplicationError, match="Only reviewers"):
        review.task_approve(task=task, user=alice)
    task.refresh_from_db()
    assert task.state == Task.State.IN_REVIEW
    with pytest.raises(ApplicationError, match="Say why"):
        review.task_reject(task=task, user=bob, reason="  ")
    review.task_reject(task=task, user=bob, reason="leaks the cause")
    task.refresh_from_db()
    assert task.state == Task.State.REJECTED and task.reject_reason == "leaks the cause"
    review.task_submit(task=task, user=alice)
    review.task_send_back(task=task, user=bob, message="tighten wording")
    review.task_submit(task=task, user=alice)
    review.task_approve(task=task, user=bob)
    task.refresh_from_db()
    assert task.state == Task.State.APPROVED
    assert [a.action for a in task.activity.order_by("id")] == [
        "submit", "reject", "submit", "send_back", "submit", "approve"]


def test_nobody_approves_their_own_edit_unless_admin(root):
    dual = UserFactory(username="dual", roles=["curator", "reviewer"])
    task = TaskFactory(text="first")
    _edit(task, dual, "mine", base=1)
    review.task_submit(task=task, user=dual)
    with pytest.raises(ApplicationError, match="someone else must approve"):
        review.task_approve(task=task, user=dual)
    _edit(task, root, "root's", base=2)
    task.refresh_from_db()
    with override_settings(STUDIO_ALLOW_SELF_APPROVE_ADMIN=False):
        assert not review.can_approve(task=task, user=root)
    review.task_approve(task=task, user=root)  # allowed by default for admins
    task.refresh_from_db()
    assert task.state == Task.State.APPROVED


def test_regenerate_uses_the_offline_writer_without_an_llm(alice):
    task = TaskFactory(text="first")
    rev = review.task_text_regenerate(task=task, user=alice, base_version=1)
    assert rev.number == 2 and rev.source == "writer"
    assert "tests/test_a.py::test_one" in rev.instruction and "Hint:" in rev.instruction
    assert "Hint:" not in rev.instruction_hard


def test_regenerate_rejects_a_model_text_that_names_the_injected_cause(alice, settings, chat_server):
    """The giveaway check needs the task's delta: a model that names the broken file is not used."""
    settings.OPENAI_BASE_URL, settings.STUDIO_LLM_MODEL = chat_server.base_url, chat_server.model
    site = "/opt/venv/lib/python3.11/site-packages"
    task = TaskFactory(text="first", delta=[{"run": f"printf 'raise ImportError' > {site}/tinydep.py", "ok": True}])
    chat_server.text('{"instruction": "Look at tinydep.py in site-packages. Hint: packages.", '
                     '"instruction_hard": "Look at tinydep.py."}')
    revision = review.task_text_regenerate(task=task, user=alice, base_version=1)
    assert revision.source == "writer" and revision.note.startswith("llm text named")
    assert "tinydep.py" not in revision.instruction and "tinydep.py" not in revision.instruction_hard


def test_regenerate_refuses_a_model_text_naming_a_package_the_delta_brought_in(alice, settings, chat_server):
    settings.OPENAI_BASE_URL, settings.STUDIO_LLM_MODEL = chat_server.base_url, chat_server.model
    task = TaskFactory(text="first", delta=[{"run": "printf '[pytest]\\nrequired_plugins = pytest-randomly>=3.4\\n' "
                                                    "> /testbed/pytest.ini", "ok": True}])
    chat_server.text('{"instruction": "pytest-randomly seems missing. Hint: config.", '
                     '"instruction_hard": "pytest-randomly seems missing."}')
    revision = review.task_text_regenerate(task=task, user=alice, base_version=1)
    assert revision.source == "writer" and "pytest-randomly" in revision.note
    assert "pytest-randomly" not in revision.instruction
