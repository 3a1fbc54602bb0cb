"""How the targets of two fault layers relate: one object both would rewrite, one thing named twice,
and which target a later layer of a compound break should aim at to show on top of the others."""

from __future__ import annotations

import re
from collections.abc import Iterable

from inversion.engine.episode.faults import FaultPlan
from inversion.engine.episode.signature import normalise


def same_object(a: str, b: str) -> bool:
    """Both faults would rewrite one path or one SONAME link (a module name may carry two layers:
    a stub on top of a moved package)."""
    a, b = normalise(a), normalise(b)
    return a == b and not re.fullmatch(r"[A-Za-z_][\w.]*", a.replace(".so", "/"))


def related(a: str, b: str) -> bool:
    """Two targets name the same thing (`sqlite3` and `libsqlite3.so.0`, a module and its package)."""
    a, b = normalise(a).lower(), normalise(b).lower()
    short, long_ = sorted((a.removeprefix("lib").split(".so")[0], b.removeprefix("lib").split(".so")[0]), key=len)
    return a == b or (len(short) >= 3 and short in long_)


def aim_rank(plan: FaultPlan, layers: Iterable[FaultPlan], layering: dict[str, str]) -> int:
    """0: an earlier layer's target, where this one shows on top of it (a stub over a moved package:
    removing the stub reveals the move); 1: another target; 2: damage in place behind an earlier
    layer that hides that target (a sitecustomize that refuses `pickle`, then a tab in pickle.py: the
    module never loads, the tests do not change, and the layer is undone; more-itertools, 2 faults:
    three late episodes spent their budgets on such layers)."""
    same = [la for la in layers if related(plan.target, la.target)]
    if not same:
        return 1
    hidden = layering.get(plan.family) == "in_place" and any(layering.get(la.family) == "beside" for la in same)
    return 2 if hidden else 0


def on_chain(plan: FaultPlan, chain: set[str]) -> bool:
    """Whether a plan aims at a module the failed import went through (`observations.import_chain`)."""
    return any(normalise(a) == m or normalise(a).removeprefix("_") == m.rsplit(".", 1)[-1]
               for a in plan.objects or (plan.target,) for m in chain)
