"""The contract between the episode loop and every agent (built-in or LLM).

The loop calls `agent.start(context)` once, then `agent.next_action(observation)` until the
agent returns `Finish`, the budget runs out or the episode is cancelled. Every action goes
through the loop (the agent never touches Docker), so both kinds produce the same events.
An agent never raises for a bad model reply: it returns a `Decision` with `error` set and an
action of `None`; the loop records the error, counts it against the budget and asks again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inversion.engine.episode.actions import Action


@dataclass
class Observation:
    """What the last action produced, as the loop recorded it (same payload as the event row)."""

    kind: str  # "command" | "setenv" | "tests" | "error"
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Budget:
    max_steps: int = 20
    max_tokens: int = 60_000
    max_seconds: float = 600.0
    command_timeout: float = 60.0


@dataclass
class AgentContext:
    """Everything an agent may know about the gold environment before it acts."""

    repository: dict[str, Any]  # name, spec, summary
    baseline: dict[str, Any]  # counts, stable_passing ids (maybe truncated), flaky
    surface: dict[str, Any]  # see docs/architecture.md
    directions: str = ""
    used_themes: list[str] = field(default_factory=list)  # categories/families already made here
    # Signatures of the tasks already made from this gold ({key, label, layers: [{kind, target}]}):
    # the built-in agent does not repeat one while an unused plan exists; the LLM reads them as themes.
    used_signatures: list[dict[str, Any]] = field(default_factory=list)
    # The same, fetched again while the episode runs (episodes of this gold that finished, await
    # validation or claimed a plan meanwhile); None where nobody can tell (tests, benches).
    used_now: Callable[[], list[dict[str, Any]]] | None = None
    # Families whose first fault broke nothing here, or failed a step, in earlier episodes of this
    # gold (family -> times): the built-in agent tries them after the rest.
    dead_ends: dict[str, int] = field(default_factory=dict)
    # Families that, as the first layer of an earlier compound episode of this gold, found no further
    # layer on top and were undone (family -> times): compound episodes start from them last.
    lone_layers: dict[str, int] = field(default_factory=dict)
    # Families whose step found nothing to aim at in this gold (`faults.NO_TARGET`): never tried again.
    no_targets: set[str] = field(default_factory=set)
    # Later layers ("family|normalised target") that, in earlier episodes of this gold, failed every test
    # over a first layer some tests passed under: over such a layer, never tried again.
    hiders: set[str] = field(default_factory=set)
    # Families that, as a later layer in earlier episodes of this gold, changed nothing that fails over
    # the layers below (family -> times): later layers of compound episodes try them after the rest.
    blind_layers: dict[str, int] = field(default_factory=dict)
    whole_share: float | None = None  # cap on the gold's whole-suite tasks (None: the guard's default)
    faults: int = 1  # layers wanted (1..3): compound breaks where fixing one fault reveals the next
    network: bool = False  # the curator allowed network (families that need the package index)
    budget: Budget = field(default_factory=Budget)
    seed: int = 0
    test_cmd: str = "python -m pytest"


# A tests observation carries the failure messages of its first this-many newly failing tests; one of
# those without a message no longer collects.
MESSAGED = 5


@dataclass
class Decision:
    action: Action | None
    thought: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str = ""
    fatal: bool = False  # the agent cannot go on (its model endpoint is down): the episode ends in error
    # The fault (layers so far plus the one starting) the agent now works on: recorded with the
    # thought, so other episodes of this gold do not start the same one meanwhile.
    claim: dict[str, Any] | None = None
    dead_end: str = ""  # the family just abandoned because it broke nothing here (or a step failed)
    lone: str = ""  # the first layer just undone because no further layer fitted on top of it here
    no_target: str = ""  # the family whose step just found nothing to aim at in this gold
    hides: str = ""  # "family|target" of a later layer just undone: it failed every test over a partial layer
    blind: str = ""  # the later layer just undone because it changed nothing that fails over the ones below


# The marks a decision may carry, recorded with its thought for the gold's later episodes (selectors.episodes).
MARKS = ("dead_end", "lone", "no_target", "hides", "blind")


class Agent:
    """Base class; subclasses implement `next_action`."""

    kind = "base"

    def start(self, context: AgentContext) -> None:
        self.context = context

    def next_action(self, last: Observation | None) -> Decision:
        raise NotImplementedError
