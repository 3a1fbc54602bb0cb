"""What an agent may do in an episode: the loop runs these, fault plans are made of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunCommand:
    """Run a shell command in the episode container (fresh bash each time)."""

    command: str
    timeout: float | None = None
    # An undo: the kept steps from this loop step on are dropped from the delta (and their ENV
    # lines unset), so an abandoned attempt leaves nothing in the task's Dockerfile.
    undoes_from: int = 0


@dataclass(frozen=True)
class SetEnv:
    """Set an environment variable for every later command and test run (becomes an ENV line)."""

    name: str
    value: str


@dataclass(frozen=True)
class RunTests:
    """Run the tests: all of them (`ids=None`) or a subset by exact node id."""

    ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Finish:
    """Stop: what kind of breakage, one line of what was done, and the commands that repair it."""

    category: str
    summary: str
    repair_script: str
    fault_family: str = ""
    # Compound breaks: one {family, category, target, summary, repair} per fault, in the order laid
    # (the last one is what a solver meets first). Empty for a single fault named by `fault_family`.
    layers: tuple[dict, ...] = ()


Action = RunCommand | SetEnv | RunTests | Finish
