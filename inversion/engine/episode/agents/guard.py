"""The built-in agent's guard: never lay a fault this gold already has (or is making right now).

Validation refuses a break whose signature key a task of this gold already has (rule `duplicate`),
and the near-duplicate measure scores "the same family on another target" 1.0 structurally, so the
agent treats a family as used *whatever its target*: a single fault of a family this gold has is
not laid again, nor a set of families it already has as a compound task. The signatures come from
succeeded episodes, from episodes still awaiting validation (their layers) and from running episodes
(the plan they claimed), so a batch does not repeat itself before validation catches up.

The counts (how often each family and category appears over those signatures, every layer counted)
order the candidates: least-used first, so a batch spreads over families and categories.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

NO_UNUSED = "no unused fault left for this gold"
# The family-weight estimate of a compound's overlap with a set made here at which its signature's
# similarity (targets masked, one-path layers often alike) measured >= 0.6 on real batches.
NEAR_SETS = 0.5
# A compound against a single fault of one of its families (or the reverse): the single's layer must
# dominate. Measured on four batches (toolz, jmespath, idna): no such pair reached 0.6 (at most 0.54),
# while at 0.5 a made single blocked every pair with a lighter partner (idna: 1 compound of 20).
NEAR_SINGLE = 0.6
# At most this share of a gold's tasks may fail its whole suite (issue 15: CLI-Gym's tasks break a
# part of it, which is what makes a diagnosis interesting); the first such task is always allowed.
WHOLE_SHARE = 0.3
# The most a family should be in of a gold's tasks: the depth credit may not lift one past it (unseen
# funcy, 20 tasks: three-step families credited one use each reached 5 tasks where the even spread is 4).
FAMILY_SHARE = 0.2
# From this many tasks of a gold (the next one counted) a third layer is never one past its family's share.
CAP_FROM = 5
# A later layer that showed nothing this many times per time it was made one here is tried after the rest.
BLIND_RATIO = 2


class Guard:
    """What this gold already has: family counts, single families and family sets of compounds."""

    def __init__(self, signatures: Iterable[dict[str, Any]] = ()) -> None:
        self.families: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()
        self.singles: set[str] = set()
        self.combos: set[frozenset[str]] = set()
        self.sets: list[frozenset[str]] = []  # each signature's families
        self.set_targets: list[dict[str, str]] = []  # each signature's family -> (normalised) target
        self.kin: dict[str, str] = {}  # family -> its kin (`FaultFamily.kin`, else category): alike layers
        self.aimed: dict[tuple[str, str], set[str]] = {}  # (category, normalised target) -> families
        self.seen: set[str] = set()
        self.failing: list[int] = []  # how many tests each made task fails (where known)
        self.firsts: Counter[str] = Counter()  # first layer's family -> the most tests a task made on it fails
        self.dead: Counter[str] = Counter()  # families that broke nothing here before (`dead_ends`)
        self.lone: Counter[str] = Counter()  # first layers that found no further layer here (`lone_layers`)
        self.blind: Counter[str] = Counter()  # later layers that changed nothing that fails here (`blind_layers`)
        self.later: Counter[str] = Counter()  # families made here as a second or third layer
        self.add(signatures)

    def add(self, signatures: Iterable[dict[str, Any]]) -> bool:
        """Take in more signatures ({key, layers: [{kind, category, target}]}); True if any was new."""
        grew = False
        for sig in signatures:
            layers = [la for la in sig.get("layers") or [] if la.get("kind")]
            ident = sig.get("key") or repr(sorted((la["kind"], la.get("target") or "") for la in layers))
            if not layers or ident in self.seen:
                continue
            self.seen.add(ident)
            grew = True
            kinds = [str(la["kind"]) for la in layers]
            self.families.update(kinds)
            self.later.update(kinds[1:])
            self.categories.update(str(la.get("category") or "") for la in layers if la.get("category"))
            for la in (la for la in layers if la.get("category")):  # the agent's families say better
                self.kin.setdefault(str(la["kind"]), str(la["category"]))
            for la in (la for la in layers if la.get("target")):
                self.aimed.setdefault((str(la.get("category") or ""), str(la["target"])), set()).add(str(la["kind"]))
            self.sets.append(frozenset(kinds))
            self.set_targets.append({str(la["kind"]): str(la.get("target") or "") for la in layers})
            if isinstance(sig.get("failing"), int):
                self.failing.append(sig["failing"])
                self.firsts[kinds[0]] = max(self.firsts[kinds[0]], sig["failing"])
            if len(kinds) == 1:
                self.singles.add(kinds[0])
            else:
                self.combos.add(frozenset(kinds))
        return grew

    def taken(self, families: list[str]) -> bool:
        """Whether laying exactly these families (in any order, on any target) repeats a task here."""
        if len(families) == 1:
            return families[0] in self.singles
        return frozenset(families) in self.combos

    def aimed_alike(self, family: str, category: str, target: str) -> bool:
        """Whether another family of this category already aims at this (normalised) target here:
        siblings on one library touch the same paths (`so_elf_header_shadow` and `so_truncated_shadow`
        on libsqlite3 measured 0.65 similar). The family itself again is `taken`'s question."""
        return bool(self.aimed.get((category, target), set()) - {family})

    def near(self, families: list[str], depth: dict[str, int], threshold: float = NEAR_SETS,
             targets: dict[str, str] | None = None) -> bool:
        """Whether a compound of these families would nearly repeat a set this gold has: the shared
        families' weight (1 + the steps of each, a proxy for the paths it touches) over the union's,
        as the near-duplicate measure weighs the touched paths (a deep shared layer dominates). In a
        compound, two families of one kin share half the lighter one's weight: they touch some paths
        alike, not all (`pth_module_block` and `sitecustomize_blocker`, one category, both write a
        `.pth` and sitecustomize: two sets differing only there measured 0.64-0.67;
        `project_truncated_module` and `project_leftover_package`, kin `project_source`, beside one
        sitecustomize block measured 0.68; counted whole, the kin made {sitecustomize block,
        conftest import} "near" {.pth block, stale pickle cache}, which share two paths of nine).
        A single family is only ever its own, and a single against a compound needs `NEAR_SINGLE`,
        unless the compound has that family on the same target (`targets`, normalised, where the caller
        knows them): then both touch its paths alike and often open with its symptoms (idna: tab
        indent in `encodings.punycode` alone, and under an instrumentation wrapper, measured 0.625)."""
        mine = frozenset(families)

        def weights(fams: frozenset[str]) -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = {}
            for f in fams:
                out.setdefault(self.kin.get(f, f) if len(mine) > 1 else f, {})[f] = 1 + depth.get(f, 1)
            return out

        a = weights(mine)
        for t, aimed in zip(self.sets, self.set_targets, strict=True):
            if t == mine:
                continue
            if targets and 1 == min(len(t), len(mine)) < max(len(t), len(mine)):
                lone = next(iter(t if len(t) == 1 else mine))
                if lone in t & mine and targets.get(lone) and targets.get(lone) == aimed.get(lone):
                    return True
            b = weights(t)
            shared = union = 0.0
            for k in a.keys() | b.keys():
                fa, fb = a.get(k, {}), b.get(k, {})
                exact = sum(fa[f] for f in fa.keys() & fb.keys())  # one family in both: whole
                rest_a, rest_b = sum(fa.values()) - exact, sum(fb.values()) - exact  # kin: half the lighter
                shared += exact + min(rest_a, rest_b) / 2
                union += exact + max(rest_a, rest_b)
            bar = max(threshold, NEAR_SINGLE) if 1 == min(len(t), len(mine)) < max(len(t), len(mine)) else threshold
            if shared and shared / union >= bar:
                return True
        return False

    def whole_full(self, stable: int, share: float = WHOLE_SHARE) -> bool:
        """Whether one more task failing all `stable` stably passing tests would take this gold past
        its share of such tasks (counted over the made tasks whose failing tests are known)."""
        whole = sum(1 for n in self.failing if stable and n >= stable)
        return whole + 1 > max(1.0, share * (len(self.failing) + 1))

    def whole_first(self, family: str, stable: int) -> bool:
        """Whether a task made here with `family` as its (first) layer fails all `stable` stably passing
        tests: the layers above a first layer that fails every test cannot narrow it (`_visible`)."""
        return bool(stable) and self.firsts.get(family, 0) >= stable

    def seldom_shows(self, family: str) -> bool:
        """Whether `family`, as a later layer here, changed nothing that fails at least twice as often
        as it was made one (plus once): the layers a gold's first layers leave room for are few
        (termcolor, one module: an instrumentation wrapper tried 14 times on top of module-level
        first layers, never showing, 4-6 steps each, as the least-used family always first)."""
        return self.blind[family] >= BLIND_RATIO * (self.later[family] + 1)

    def over_share(self, family: str) -> bool:
        """Whether one more task with `family` would put it in more than `FAMILY_SHARE` of this gold's
        tasks (issue 15's goal for a batch): such a family yields to any that would not, whatever the
        depth credit (`ordering.deep_credit`) says; among families all over it, least-used first."""
        return self.families[family] + 1 > FAMILY_SHARE * (len(self.sets) + 1)

    def over_cap(self, family: str) -> bool:
        """`over_share`, once the gold has enough tasks for one more use to say something (`CAP_FROM`):
        a third layer is a bonus, so one over its share is not laid (unseen toml: the two families that
        showed on top of most pairs were each in 6 of 18 tasks, 4 times as the third layer)."""
        return len(self.sets) + 1 >= CAP_FROM and self.over_share(family)

    def rank(self, family: str, category: str) -> tuple[int, int]:
        """Sort key: least-used family first, then least-used category."""
        return self.families[family], self.categories[category]
