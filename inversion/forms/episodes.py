"""The launch form: agent, model, budget, directions and how many episodes."""

from __future__ import annotations

from django import forms
from django.conf import settings

from inversion.models import Episode


class EpisodeLaunchForm(forms.Form):
    agent = forms.ChoiceField(choices=Episode.Agent.choices, initial=Episode.Agent.BUILTIN)
    model = forms.CharField(required=False, max_length=200, help_text="LLM model name (LLM agent only)")
    count = forms.IntegerField(min_value=1, max_value=50, initial=1, label="Number of episodes")
    max_steps = forms.IntegerField(min_value=1, max_value=200, initial=20, label="Budget: steps")
    max_tokens = forms.IntegerField(min_value=0, max_value=2_000_000, initial=200_000, label="Budget: tokens")
    max_minutes = forms.IntegerField(min_value=1, max_value=240, initial=20, label="Budget: minutes")
    faults = forms.TypedChoiceField(
        choices=[(1, "1 fault"), (2, "2 layers"), (3, "3 layers")], coerce=int, initial=1, required=False, empty_value=1, label="Faults per task",
        help_text="Compound tasks: faults of different categories, where fixing one reveals the next")
    network = forms.BooleanField(
        required=False, label="Allow network",
        help_text="Episodes may reach the package index (e.g. to install an incompatible version)")
    directions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
        help_text="Optional guidance, e.g. 'break a shared library' or 'focus on config files'",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].initial = getattr(settings, "STUDIO_LLM_MODEL", "") or ""

    def clean(self) -> dict:
        data = super().clean()
        if data.get("agent") == Episode.Agent.LLM and not (data.get("model") or self.fields["model"].initial):
            self.add_error("model", "Pick a model for the LLM agent.")
        return data

    def budget(self) -> dict:
        d = self.cleaned_data
        return {"steps": d["max_steps"], "tokens": d["max_tokens"], "minutes": d["max_minutes"]}
