"""The built-in agent's finish: one task from the layers it laid, with one repair for all of them."""

from __future__ import annotations

from inversion.engine.episode.actions import Finish
from inversion.engine.episode.agents.base import Decision, Observation
from inversion.engine.episode.agents.guard import NO_UNUSED
from inversion.engine.episode.faults import FaultPlan
from inversion.engine.episode.repairs import combined


def finish_layers(layers: list[FaultPlan], count: int) -> Decision:
    """Finish with `layers` (laying order) and `count` stably passing tests failing: the outermost's
    category, a repair undoing them outermost first, and each layer with its target (the signature
    names every target)."""
    outer = layers[-1]
    info = tuple({"family": p.family, "category": p.category, "target": p.target, "summary": p.summary,
                  "repair": p.repair} for p in layers)
    if len(layers) == 1:
        summary = f"{outer.summary} ({count} stably passing tests fail)"
        return Decision(Finish(outer.category, summary, outer.repair, fault_family=outer.family, layers=info),
                        thought=f"{outer.family} broke {count} tests; finishing with its repair script")
    repair = combined(list(info))
    summary = "; then ".join(p.summary for p in layers) + f" ({count} stably passing tests fail)"
    families_ = "+".join(p.family for p in layers)
    return Decision(Finish(outer.category, summary, repair, fault_family=families_[:80], layers=info),
                    thought=f"{len(layers)} faults laid ({families_}); finishing with a repair of all of them")


def finish_none(*, short: list[str], capped: list[str], skipped: list[str], tried: list[str],
                share: float) -> Decision:
    """Finish without a task, saying why: the budget ran out, only whole-suite breaks were left where
    the gold has its share, every family left is made here, or nothing broke a test."""
    if short:
        why = f"the step budget ran out before {', '.join(short)} could be tried"
        return Decision(Finish("none", why, ""), thought=why)
    if capped:  # the rest fail every test, and this gold has its share of such tasks
        why = (f"only faults that fail every test were left ({', '.join(capped)}), and this gold "
               f"has its share of such tasks (at most {share:.0%})")
        return Decision(Finish("none", why, ""), thought=why)
    if skipped:  # every family left is one this gold has: never lay a duplicate
        why = f"{NO_UNUSED} (already made here: {', '.join(skipped)}"
        why += f"; tried {', '.join(tried)})" if tried else ")"
        return Decision(Finish("none", NO_UNUSED, ""), thought=why)
    summary = "no applicable fault family broke a stably passing test"
    if tried:
        summary += f" (tried {', '.join(tried)})"
    return Decision(Finish("none", summary, ""), thought=summary)


def undo_left(family: str, before: set[str], total: int, last: Observation | None) -> Decision | None:
    """Stop where undoing `family` left stably passing tests failing that passed before it (`before`
    failed then, `total` of them where the event listed only the first ones): its repair did not
    restore the container, which no longer matches the delta, so every later layer would be judged
    on a broken base (semver: a stale cache of gettext broke the undo's own `compileall`, and two
    later "layers" only showed on that leftover). Where `before` is a truncated list, only more
    failing tests than `total` say so (one flaky test shifts the window)."""
    if last is None or last.kind != "tests":
        return None
    left = [t for t in last.payload.get("newly_failing") or [] if t not in before]
    now = last.payload.get("newly_failing_total") or len(last.payload.get("newly_failing") or [])
    if not left or (total > len(before) and now <= total):
        return None
    why = (f"undoing {family} left {len(left)} stably passing tests "
           f"failing (e.g. {left[0]}), so the container no longer matches its Dockerfile delta")
    return Decision(Finish("none", why, ""), thought=why)
