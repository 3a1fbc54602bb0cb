"""Rule 8, *every layer matters* (DESIGN.md), for compound tasks: for each fault laid, applying the
repairs of all the others (outermost first) must still leave a graded test failing. A layer whose
repair nothing needs (a second fault that another repair already undoes, or one hidden for good
behind the first) makes the task look harder than it is, so the task is refused.

Plain Python: the validator supplies `run_after(script) -> (exit code, outcomes)`, a graded run in a
fresh container of the broken image after `script` ran there.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from inversion.engine.episode.repairs import combined

PASSED = "passed"


def redundant_layers(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The left-out layers whose absence changed nothing: the other repairs ran cleanly and every
    graded test passes (the layer adds nothing to the task)."""
    return [r for r in results if r["exit"] == 0 and r["failing"] == 0]


def judge_layers(results: list[dict[str, Any]]) -> tuple[bool, str]:
    """Each result: {layer, family, exit, failing}; ok when every left-out layer still fails a test
    and the other repairs ran cleanly without it."""
    redundant = redundant_layers(results)
    entangled = [r for r in results if r["exit"] != 0]
    if redundant:
        names = ", ".join(f"fault {r['layer'] + 1} ({r['family']})" for r in redundant)
        return False, f"{names}: with every other repair applied, all graded tests pass, so it adds nothing"
    if entangled:
        names = ", ".join(f"fault {r['layer'] + 1} ({r['family']}): exit {r['exit']}" for r in entangled)
        return False, f"the other repairs fail while this fault is in place: {names}"
    shown = ", ".join(f"without repair {r['layer'] + 1}: {r['failing']} fail" for r in results)
    return True, f"every one of {len(results)} faults matters ({shown})"


def every_layer_matters(layers: list[dict[str, Any]], graded: list[str],
                        run_after: Callable[[str], tuple[int | None, dict[str, str]]],
                        parallel: int = 2) -> tuple[bool, str, list[dict[str, Any]]]:
    """Run the check for every layer (side by side) and judge it."""

    def one(i: int) -> dict[str, Any]:
        code, outcomes = run_after(combined(layers, skip=i))
        failing = sum(1 for t in graded if outcomes.get(t) != PASSED)
        return {"layer": i, "family": layers[i].get("family") or layers[i].get("category") or "?",
                "exit": code, "failing": failing, "outcomes": outcomes}

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = list(pool.map(one, range(len(layers))))
    ok, detail = judge_layers(results)
    return ok, detail, results
