"""What an agent may do in an episode: the loop runs these, fault plans are made of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunCommand:
    """Run a shell command in the episode container (fresh bash each time)."""

    command: str
    timeout: float | None = None


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


Action = RunCommand | SetEnv | RunTests | Finish
