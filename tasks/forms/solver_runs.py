"""The catalog page's form to start a solver run."""

from __future__ import annotations

from django import forms

AGENTS = [
    ("oracle", "oracle (the validated solution)"),
    ("nop", "nop (does nothing)"),
    ("terminus-2", "terminus-2 (LLM agent)"),
]


class SolverRunForm(forms.Form):
    agent = forms.CharField(
        max_length=100,
        initial="oracle",
        help_text="A Harbor agent name",
        widget=forms.TextInput(attrs={"list": "harbor-agents"}),
    )
    model = forms.CharField(
        max_length=200, required=False, help_text="LLM agents: e.g. openai/qwen2.5-coder-1.5b"
    )
    base_url = forms.CharField(
        max_length=300,
        required=False,
        label="Base URL",
        help_text="OpenAI-compatible endpoint (default: the studio's)",
    )
    attempts = forms.IntegerField(min_value=1, max_value=10, initial=1, label="Attempts per task (k)")
    concurrency = forms.IntegerField(min_value=1, max_value=16, initial=2)
    strength = forms.ChoiceField(
        choices=[("", "by model size"), ("weak", "weak"), ("strong", "strong")],
        required=False,
        help_text="How the run counts for measured difficulty",
    )
    agent_options = forms.CharField(
        max_length=2000,
        required=False,
        label="Agent options",
        help_text="KEY=VALUE, comma-separated, given to Harbor as --ak (e.g. parser_name=xml)",
    )
