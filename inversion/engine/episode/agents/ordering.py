"""The order in which the built-in agent tries fault families: the curator's directions first, then
the least-used families on this gold (the guard's counts), unused themes before used ones, and the
first category rotated by the seed so a batch spreads across categories."""

from __future__ import annotations

import random
import re

from inversion.engine.episode.agents.guard import Guard
from inversion.engine.episode.faults import FaultFamily, PlanContext

# Categories with a family that applies to nearly any gold: rotated in after the ones this gold
# offers specifically, so a batch over several golds covers more categories.
BROAD_CATEGORIES = {"config", "interpreter", "startup_hooks", "module_shadowing", "encoding", "warnings"}


def _words(text: str) -> str:
    return " " + text.lower().replace("_", " ").replace("-", " ") + " "


def direction_score(fam: FaultFamily, directions: str) -> int:
    """How many of a family's keywords (and its name and category) the directions mention."""
    text = _words(directions)
    terms = {_words(t).strip() for t in (fam.category, fam.name, *fam.keywords)}
    return sum(1 for t in terms if t and re.search(rf"(?<![\w.]){re.escape(t)}(s|es)?(?!\w)", text))


def order_key(fams: list[FaultFamily], *, seed: int, directions: str = "", used_themes: list[str] | None = None,
              guard: Guard | None = None, depth: dict[str, int] | None = None):
    """The sort key of `candidate_order` (it reads the guard's counts when called, so a refreshed
    guard re-sorts the remaining candidates), families that broke nothing on this gold before after
    the rest (`Guard.dead`); `depth` (steps of a family's plan) puts longer plans
    first among equally used families (compound layers), and a multi-step one counts as used once
    less (`deep_credit`)."""
    rng = random.Random(seed)
    used = {t.strip().lower() for t in used_themes or [] if t.strip()}
    cats = sorted({f.category for f in fams}, key=lambda c: (c in BROAD_CATEGORIES, c))
    start = seed % len(cats) if cats else 0
    rest = cats[:start] + cats[start + 1:]
    rng.shuffle(rest)
    rest.sort(key=lambda c: c in BROAD_CATEGORIES)  # stable: specific ones first, each group shuffled
    cat_rank = {c: i for i, c in enumerate(cats[start:start + 1] + rest)}
    jitter = {f.name: rng.random() for f in fams}

    def key(f: FaultFamily) -> tuple:
        score = direction_score(f, directions) if directions.strip() else 0
        is_used = f.name.lower() in used or f.category.lower() in used
        counts = guard.rank(f.name, f.category) if guard is not None else (0, 0)
        dead = guard is not None and guard.dead[f.name] > 0  # broke nothing here before: after the rest
        steps = (depth or {}).get(f.name, 1)
        counts = (guard is not None and guard.over_share(f.name), counts[0] - deep_credit(steps), counts[1])
        return (-score, dead, counts, -steps, is_used, cat_rank.get(f.category, len(cat_rank)), jitter.get(f.name, 1.0))

    return key


def candidate_order(
    fams: list[FaultFamily], *, seed: int, directions: str = "", used_themes: list[str] | None = None,
    guard: Guard | None = None,
) -> list[FaultFamily]:
    """Families to try, best first: directions first, then the least-used families on this gold
    (`guard`), unused themes before used ones, and the first category rotated by the seed (seeds
    0..n-1 start in n different categories)."""
    return sorted(fams, key=order_key(fams, seed=seed, directions=directions, used_themes=used_themes, guard=guard))


def deep_credit(steps: int) -> int:
    """Uses forgiven a family whose compound layer takes several steps, so it may be laid once more
    than a one-step one before it yields (markupsafe `--faults 3`, least-used strictly first: once
    the multi-step families had a task each, the one-step ones filled 54 layers at 5.2 lines a task)."""
    return 1 if steps > 1 else 0


def deep_steps(fam: FaultFamily, ctx: PlanContext, seed: int) -> int:
    """Steps of the family's multi-step variant, else of its plain plan (an environment variable and
    the file it points at are two), 1 when it cannot plan here."""
    try:
        plan = fam.deep_plan(ctx, random.Random(seed)) or fam.plan(ctx, random.Random(seed))
    except (KeyError, IndexError, ValueError):
        return 1
    return len(plan.actions)

