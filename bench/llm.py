"""The local 1.5B model vs. the built-in agent on the same real sdist golds, in one invocation.

    .venv/bin/python bench/llm.py [--golds pypi:six==1.16.0 pypi:markupsafe==2.1.5 | --gold-ids 3 4]
                                  [--per-gold 5] [--model qwen2.5-coder-1.5b] [--max-steps 12]

Per agent it runs `--per-gold` episodes on each gold (default 2 golds x 5 = 10 each) through the
same services the jobs call (episode_run, then task_materialize), sequentially so the timings are
not mixed, and prints: yield (valid tasks / episodes), valid tasks, tokens per valid task
(prompt + completion), seconds per valid task (episode + validation wall time) and the mix of
categories. Goal for the 1.5B model: yield >= 40% and <= 140k tokens per valid task.

The model server is the real llama.cpp server (`scripts/setup-llm` installs it; the 1.5B file is
assembled on first use). Golds come from `--gold-ids` in the studio's database, or are built from
`--golds` specs through the CLI (`studio repo add`, `studio gold build`). Uses the studio's
settings and data dir (set STUDIO_DATA_DIR to keep the bench apart).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")


def _cli(*args: str) -> dict:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("studio", "--json", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _find_id(data: dict, *keys: str) -> int:
    for key in keys:
        value = data.get(key)
        if isinstance(value, dict) and "id" in value:
            return int(value["id"])
        if isinstance(value, int):
            return value
    return int(data["id"])


def golds_for(specs: list[str], ids: list[int]):
    from inversion.models import GoldEnvironment

    if ids:
        return list(GoldEnvironment.objects.filter(pk__in=ids, status="ready"))
    golds = []
    for spec in specs:
        repo_id = _find_id(_cli("repo", "add", spec), "repository", "repository_id")
        gold_id = _find_id(_cli("gold", "build", str(repo_id)), "gold", "gold_id")
        golds.append(GoldEnvironment.objects.get(pk=gold_id))
    return golds


def run_agent(
    agent: str, golds, per_gold: int, *, model: str = "", base_url: str = "", max_steps: int
) -> dict:
    from inversion.models import Episode
    from inversion.services.episodes import episode_batch_launch, episode_run
    from tasks.services.materialize import task_materialize

    rows = []
    for gold in golds:
        episodes = episode_batch_launch(
            golds=[gold], count=per_gold, agent=agent, model=model, base_url=base_url or None,
            budget={"max_steps": max_steps}, seed=1000,
        )  # fmt: skip
        for episode in episodes:
            if agent == "llm":  # llama.cpp ignores tool_choice="auto": name the tool every turn
                Episode.objects.filter(pk=episode.pk).update(
                    config={**episode.config, "tool_choice_mode": "named"}
                )
            started = time.monotonic()
            episode = episode_run(episode=Episode.objects.get(pk=episode.pk))
            task = task_materialize(episode=episode) if episode.status == Episode.Status.VALIDATING else None
            episode.refresh_from_db()
            rows.append(
                {
                    "episode": episode.pk, "gold": gold.pk, "status": episode.status, "valid": task is not None,
                    "category": task.category if task else "", "tokens": episode.prompt_tokens + episode.completion_tokens,
                    "seconds": time.monotonic() - started, "reason": episode.reason[:120],
                }
            )  # fmt: skip
            print(f"  {agent} episode #{episode.pk} on gold #{gold.pk}: {episode.status} "
                  f"[{rows[-1]['tokens']} tokens, {rows[-1]['seconds']:.0f} s] {rows[-1]['reason']}", flush=True)  # fmt: skip
    return summarize(rows)


def summarize(rows: list[dict]) -> dict:
    valid = sum(1 for row in rows if row["valid"])
    tokens = sum(row["tokens"] for row in rows)
    seconds = sum(row["seconds"] for row in rows)
    return {
        "episodes": len(rows),
        "valid": valid,
        "yield": valid / len(rows) if rows else 0.0,
        "tokens_per_valid": tokens / valid if valid else None,
        "seconds_per_valid": seconds / valid if valid else None,
        "categories": dict(Counter(row["category"] for row in rows if row["valid"])),
        "rows": rows,
    }


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golds", nargs="*", default=["pypi:six==1.16.0", "pypi:markupsafe==2.1.5"])
    parser.add_argument("--gold-ids", nargs="*", type=int, default=[])
    parser.add_argument("--per-gold", type=int, default=5)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="generation threads")
    parser.add_argument("--skip-builtin", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the model server on `timeout`/kill

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from inversion.engine.runtime.llm import localmodel

    call_command("migrate", verbosity=0)
    golds = golds_for(args.golds, args.gold_ids)
    if len(golds) < 1:
        sys.exit("no ready gold environments")
    print(f"golds: {[f'#{g.pk} {g.repository.spec}' for g in golds]}", flush=True)
    spec = localmodel.model_spec(args.model)
    path = localmodel.ensure_model(spec, settings.STUDIO_MODEL_CACHE)
    results = {}
    with localmodel.LocalServer(
        path,
        alias=spec.key,
        n_threads=args.threads,
        log_path=Path(settings.DATA_DIR) / "bench-llm-server.log",
    ) as server:
        results[args.model] = run_agent(
            "llm", golds, args.per_gold, model=spec.key, base_url=server.base_url, max_steps=args.max_steps
        )
    if not args.skip_builtin:
        results["builtin"] = run_agent("builtin", golds, args.per_gold, max_steps=args.max_steps)

    print(
        f"\n{'agent':<22}{'episodes':>9}{'valid':>7}{'yield':>8}{'tokens/valid':>14}{'s/valid':>9}  categories"
    )
    for name, result in results.items():
        cats = ", ".join(f"{cat}:{n}" for cat, n in sorted(result["categories"].items())) or "-"
        print(
            f"{name:<22}{result['episodes']:>9}{result['valid']:>7}{result['yield']:>8.0%}"
            f"{_fmt(result['tokens_per_valid'], ',.0f'):>14}{_fmt(result['seconds_per_valid'], '.0f'):>9}  {cats}"
        )
    if args.model in results:
        llm = results[args.model]
        ok = llm["yield"] >= 0.4 and (llm["tokens_per_valid"] or 10**9) <= 140_000
        print(f"goal (yield >= 40%, <= 140k tokens per valid task): {'met' if ok else 'NOT met'}")
    if args.json:
        print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
