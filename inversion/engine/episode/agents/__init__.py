"""Agents that break gold environments. One interface (`base.Agent`), resolved lazily by kind."""

from __future__ import annotations

import importlib

AGENT_KINDS = {
    "builtin": "inversion.engine.episode.agents.builtin.BuiltinAgent",
    "llm": "inversion.engine.episode.agents.llm.LLMAgent",
}


def agent_class(kind: str):
    """The agent class for `kind`, imported only when used (keeps the core free of plugin imports)."""
    try:
        dotted = AGENT_KINDS[kind]
    except KeyError as exc:
        raise ValueError(f"unknown agent kind {kind!r}; choose from {', '.join(AGENT_KINDS)}") from exc
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)
