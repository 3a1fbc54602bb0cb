"""Forms of the review page."""

from __future__ import annotations

from django import forms


class TaskTextForm(forms.Form):
    instruction = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}), label="Issue text (with hint)")
    instruction_hard = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), label="Hard variant (no hint)")
    note = forms.CharField(required=False, max_length=300, label="Note")
    base_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
