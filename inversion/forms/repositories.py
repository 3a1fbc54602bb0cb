"""Forms for repositories: add from a source, edit the curator's build overrides."""

from __future__ import annotations

from django import forms

from inversion.models import Repository


class RepositoryAddForm(forms.Form):
    kind = forms.ChoiceField(choices=Repository.Kind.choices, label="Source")
    location = forms.CharField(
        max_length=500, label="Package, clone URL or directory",
        help_text="PyPI: package name · Git: clone URL (file:// works) · Local: absolute directory",
    )
    ref = forms.CharField(max_length=200, required=False, label="Version or ref",
                          help_text="PyPI: exact version · Git: branch, tag or commit · Local: empty")
    name = forms.CharField(max_length=100, required=False, help_text="Optional; derived from the source")

    def clean(self):
        data = super().clean()
        kind, ref = data.get("kind"), (data.get("ref") or "").strip()
        if kind in (Repository.Kind.PYPI, Repository.Kind.GIT) and not ref:
            self.add_error("ref", "PyPI needs a version and git needs a ref.")
        return data


class OverridesForm(forms.Form):
    install_cmd = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                  label="Install command", help_text="Runs in /testbed inside the venv")
    test_cmd = forms.CharField(required=False, widget=forms.TextInput, label="Test command",
                               help_text="Default: python -m pytest")
    dockerfile_override = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 8}),
                                          label="Dockerfile (replaces the synthesized one)")
