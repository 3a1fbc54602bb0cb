"""Task list and the review page: edit texts, preview markdown, regenerate, review actions."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from studio.lib.exceptions import ApplicationError
from tasks.forms.tasks import RejectForm, TaskTextForm
from tasks.selectors.tasks import task_facets, task_filtered, task_get, task_review
from tasks.services import review
from tasks.templatetags.mdsafe import render_markdown


def task_list(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("state", "repository", "category", "difficulty", "tag", "measured")}
    return render(request, "tasks/task_list.html", {
        "tasks": list(task_filtered(**filters))[:500], "filters": filters, "facets": task_facets(),
    })


def _task_or_404(task_id: int):
    try:
        return task_get(task_id=task_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc


def _review_page(request: HttpRequest, task_id: int, *, form: TaskTextForm | None = None,
                 conflict: dict | None = None, status: int = 200) -> HttpResponse:
    try:
        context = task_review(task_id=task_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    task, rev = context["task"], context["revision"]
    if form is None:
        form = TaskTextForm(initial={
            "instruction": rev.instruction if rev else "", "instruction_hard": rev.instruction_hard if rev else "",
            "base_version": task.version,
        })
    context.update({"form": form, "conflict": conflict, "reject_form": RejectForm(),
                    **review.task_permissions(task=task, user=request.user)})
    return render(request, "tasks/task_detail.html", context, status=status)


def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    return _review_page(request, task_id)


@require_POST
def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(task_id)
    form = TaskTextForm(request.POST)
    if not form.is_valid():
        return _review_page(request, task_id, form=form, status=400)
    d = form.cleaned_data
    try:
        review.task_text_edit(task=task, user=request.user, instruction=d["instruction"],
                              instruction_hard=d["instruction_hard"], base_version=d["base_version"], note=d["note"])
    except review.StaleEditError as exc:
        form.add_error(None, exc.message)
        return _review_page(request, task_id, form=form, conflict=exc.extra, status=409)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _review_page(request, task_id, form=form, status=400)
    messages.success(request, "Saved a new revision.")
    return redirect("task_detail", task_id=task_id)


@require_POST
def task_preview(request: HttpRequest, task_id: int) -> HttpResponse:
    """htmx: the markdown preview of whatever is in the editor (sanitised)."""
    field = request.POST.get("field", "instruction")
    text = request.POST.get("instruction_hard" if field == "instruction_hard" else "instruction", "")
    return HttpResponse(render_markdown(text))


@require_POST
def task_regenerate(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(task_id)
    try:
        base = int(request.POST.get("base_version", "-1"))
        review.task_text_regenerate(task=task, user=request.user, base_version=base)
        messages.success(request, "Regenerated the issue texts as a new revision.")
    except ValueError:
        messages.error(request, "Reload the page and try again.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("task_detail", task_id=task_id)


@require_POST
def task_action(request: HttpRequest, task_id: int, action: str) -> HttpResponse:
    if action not in review.TRANSITIONS:
        raise Http404("Unknown action")
    task = _task_or_404(task_id)
    try:
        _, twins = review.task_transition_checked(task=task, user=request.user, action=action,
                                                  reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, review.TRANSITIONS[action])
        for twin in twins:
            kind = "a duplicate" if twin["duplicate"] else "a near-duplicate"
            messages.warning(request, format_html('This task is {} of <a href="{}" class="twin">{}</a> (similarity {}).',
                                                  kind, reverse("task_detail", args=[twin["task"].pk]),
                                                  twin["task"].slug, twin["similarity"]))
    return redirect("task_detail", task_id=task_id)
