"""The review workflow: edit issue texts (optimistic concurrency), submit, approve, reject, send back.

Edits carry the revision number they started from; a save against an older number is refused with
`StaleEditError`, whose `extra` holds the other person's text, so nothing is ever overwritten.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from inversion.engine.runtime.testrun import DEFAULT_TEST_CMD
from inversion.engine.validate import issuewriter
from inversion.services.llm import client_or_none
from studio.lib.exceptions import ApplicationError
from studio.lib.roles import is_curator, is_reviewer
from tasks.models import Task, TaskActivity, TaskRevision
from tasks.selectors.diversity import task_twins

EDITABLE = (Task.State.DRAFT, Task.State.IN_REVIEW, Task.State.REJECTED)


class StaleEditError(ApplicationError):
    """Someone saved a newer revision since this edit began."""


def _locked(task: Task) -> Task:
    return Task.objects.select_for_update().get(pk=task.pk)


def _log(task: Task, user, action: str, message: str = "") -> None:
    TaskActivity.objects.create(task=task, actor=user, action=action, message=message)


@transaction.atomic
def task_text_edit(
    *, task: Task, user, instruction: str, instruction_hard: str, base_version: int,
    note: str = "", source: str = "human",
) -> TaskRevision:
    """Save a new revision of the issue texts if nobody saved one since `base_version`."""
    if not is_curator(user):
        raise ApplicationError("Only curators edit issue texts.")
    task = _locked(task)
    if task.state not in EDITABLE:
        raise ApplicationError(f"This task is {task.get_state_display().lower()}; its text is frozen.")
    if not instruction.strip() or not instruction_hard.strip():
        raise ApplicationError("Both the issue text and the hard variant need some text.")
    if task.version != base_version:
        current = task.current_revision
        who = current.author.username if current and current.author else "someone"
        raise StaleEditError(
            f"{who} saved revision {task.version} while you were editing revision {base_version}. "
            "Your text was not saved; compare it with theirs below and save again.",
            {
                "version": task.version,
                "author": who,
                "instruction": current.instruction if current else "",
                "instruction_hard": current.instruction_hard if current else "",
            },
        )
    current = task.current_revision
    if current and current.instruction == instruction and current.instruction_hard == instruction_hard:
        raise ApplicationError("Nothing changed.")
    revision = TaskRevision.objects.create(
        task=task, number=task.version + 1, instruction=instruction, instruction_hard=instruction_hard,
        author=user, source=source, note=note[:300],
    )
    task.version = revision.number
    task.last_edited_by = user
    task.save(update_fields=["version", "last_edited_by", "updated_at"])
    _log(task, user, "edit", f"revision {revision.number}" + (f" ({source})" if source != "human" else ""))
    return revision


@transaction.atomic
def task_submit(*, task: Task, user) -> Task:
    if not is_curator(user):
        raise ApplicationError("Only curators submit tasks for review.")
    task = _locked(task)
    if task.state not in (Task.State.DRAFT, Task.State.REJECTED):
        raise ApplicationError(f"Only drafts go to review; this task is {task.get_state_display().lower()}.")
    if task.version == 0:
        raise ApplicationError("Write the issue text before submitting.")
    task.state = Task.State.IN_REVIEW
    task.save(update_fields=["state", "updated_at"])
    _log(task, user, "submit")
    return task


def _reviewable(task: Task, user, verb: str) -> Task:
    if not is_reviewer(user):
        raise ApplicationError(f"Only reviewers {verb} tasks.")
    task = _locked(task)
    if task.state != Task.State.IN_REVIEW:
        raise ApplicationError(f"Only tasks in review can be {verb}d; this one is {task.get_state_display().lower()}.")
    return task


def can_approve(*, task: Task, user) -> bool:
    """Reviewers approve, but not a text they last edited (admins may, when settings allow)."""
    if not is_reviewer(user):
        return False
    if task.last_edited_by_id and task.last_edited_by_id == user.pk:
        return bool(user.is_superuser and settings.STUDIO_ALLOW_SELF_APPROVE_ADMIN)
    return True


@transaction.atomic
def task_approve(*, task: Task, user) -> Task:
    task = _reviewable(task, user, "approve")
    if not can_approve(task=task, user=user):
        raise ApplicationError("You last edited this task's text, so someone else must approve it.")
    task.state = Task.State.APPROVED
    task.reject_reason = ""
    task.save(update_fields=["state", "reject_reason", "updated_at"])
    _log(task, user, "approve")
    return task


@transaction.atomic
def task_reject(*, task: Task, user, reason: str) -> Task:
    if not reason.strip():
        raise ApplicationError("Say why the task is rejected.")
    task = _reviewable(task, user, "reject")
    task.state = Task.State.REJECTED
    task.reject_reason = reason.strip()
    task.save(update_fields=["state", "reject_reason", "updated_at"])
    _log(task, user, "reject", reason.strip())
    return task


@transaction.atomic
def task_send_back(*, task: Task, user, message: str = "") -> Task:
    task = _reviewable(task, user, "send back")
    task.state = Task.State.DRAFT
    task.save(update_fields=["state", "updated_at"])
    _log(task, user, "send_back", message.strip())
    return task


def task_text_regenerate(*, task: Task, user, base_version: int) -> TaskRevision:
    """Ask the issue writer for fresh texts (the LLM when one is configured) and save a revision.
    The evidence carries the task's delta, so the giveaway check rejects a text naming its cause."""
    touched = list((task.validation or {}).get("touched") or [])
    evidence = issuewriter.Evidence(
        repo=task.gold.repository.name, category=task.category, f2p=list(task.fail_to_pass),
        excerpts=dict(task.failure_excerpts), test_cmd=task.gold.test_cmd or DEFAULT_TEST_CMD,
        delta=list(task.delta or []), changed_paths=touched, seed=task.pk + task.version,  # another voice
        edits_testbed=any(p.startswith("/testbed/") for p in touched) or "/testbed/" in task.repair_script,
    )
    client = client_or_none()
    text = issuewriter.llm_issue(evidence, client) if client is not None else issuewriter.offline_issue(evidence)
    return task_text_edit(
        task=task, user=user, instruction=text.instruction, instruction_hard=text.instruction_hard,
        base_version=base_version, note=text.note or "regenerated", source=text.source,
    )


TRANSITIONS = {"submit": "Submitted for review.", "approve": "Approved.", "reject": "Rejected.",
               "send_back": "Sent back to the curator."}


def task_transition(*, task: Task, user, action: str, reason: str = "") -> Task:
    """One review action by name (the review page's buttons): submit, approve, reject, send_back."""
    if action == "submit":
        return task_submit(task=task, user=user)
    if action == "approve":
        return task_approve(task=task, user=user)
    if action == "reject":
        return task_reject(task=task, user=user, reason=reason)
    if action == "send_back":
        return task_send_back(task=task, user=user, message=reason)
    raise ApplicationError(f"unknown review action {action!r}")


def task_transition_checked(*, task: Task, user, action: str, reason: str = "") -> tuple[Task, list[dict]]:
    """A review action, plus the near-duplicates to warn about when the task moves toward a catalog:
    on submit, tasks of its repository in review or approved; on approve, approved ones."""
    task = task_transition(task=task, user=user, action=action, reason=reason)
    states = {"submit": (Task.State.IN_REVIEW, Task.State.APPROVED), "approve": (Task.State.APPROVED,)}.get(action)
    return task, (task_twins(task=task, states=states) if states else [])


def task_permissions(*, task: Task, user) -> dict[str, bool]:
    """What this user may do with this task now (the review page's buttons)."""
    return {
        "can_edit": is_curator(user) and task.state in EDITABLE,
        "can_submit": is_curator(user) and task.state in (Task.State.DRAFT, Task.State.REJECTED),
        "can_review": is_reviewer(user) and task.state == Task.State.IN_REVIEW,
        "can_approve": task.state == Task.State.IN_REVIEW and can_approve(task=task, user=user),
    }
