"""The campaign form: a pasted source list or an uploaded requirements-style file, and the knobs."""

from __future__ import annotations

from django import forms

MAX_UPLOAD = 1024 * 1024


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=120, required=False, help_text="Optional; defaults to the source count")
    sources = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
                              label="Sources", help_text="One a line: pypi:NAME==VER, git:URL@REF, path:/DIR, "
                                                         "or requirements lines NAME==VER; # comments")
    sources_file = forms.FileField(required=False, label="…or a file", help_text="requirements.txt style")
    episodes_per_gold = forms.IntegerField(min_value=1, max_value=500, initial=2)
    agent_mix = forms.CharField(max_length=100, initial="builtin", label="Agent mix",
                                help_text="builtin, llm, or weights: builtin=3, llm=1")
    directions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text="Passed to every episode, e.g. break dynamic linking")
    target_tasks = forms.IntegerField(min_value=1, required=False, label="Target tasks",
                                      help_text="Stop once this many valid tasks exist (empty: run every source)")

    def clean(self):
        data = super().clean()
        upload = data.get("sources_file")
        if upload:
            if upload.size > MAX_UPLOAD:
                self.add_error("sources_file", "The file is larger than 1 MiB.")
                return data
            try:
                data["sources"] = (data.get("sources") or "") + "\n" + upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("sources_file", "The file is not UTF-8 text.")
        if not (data.get("sources") or "").strip() and not self.errors:
            self.add_error("sources", "Paste sources or choose a file.")
        return data
