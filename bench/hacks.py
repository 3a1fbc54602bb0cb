"""Reward integrity in the real Harbor: every hack of the library against tasks of many fault families.

    .venv/bin/python bench/hacks.py [--sdists pypi:six==1.16.0 ...] [--families 8] [--max-episodes 40]

In one run (a private data dir and SQLite file): golds of the sdists, then built-in agent episodes
with successive seeds until tasks of `--families` different fault families are validated (or the
episode budget ends); the tasks are approved into a catalog, exported in the Harbor format and run
by the real `harbor run` with `oracle`, `nop` and the studio's hack agent playing each script of
inversion/engine/validate/hack_library. Prints a family x agent table of rewards (want: oracle 1,
everything else 0) and the seconds each Harbor job took.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gold import setup_django  # noqa: E402

DEFAULT_SDISTS = ["pypi:six==1.16.0", "pypi:markupsafe==2.1.5", "pypi:pyyaml==6.0.2"]


def family_tasks(sdists: list[str], families: int, budget: int) -> list:
    from inversion.services.episodes import episode_batch_launch, episode_run
    from inversion.services.golds import gold_build
    from inversion.services.repositories import repository_add_spec
    from tasks.services.materialize import task_materialize

    golds = []
    for spec in sdists:
        repo, _ = repository_add_spec(spec=spec)
        gold = gold_build(repository=repo)
        assert gold.status == "ready", f"{spec}: {gold.error}"
        golds.append(gold)
    chosen: dict[str, object] = {}
    for seed in range(budget):
        gold = golds[seed % len(golds)]
        (episode,) = episode_batch_launch(golds=[gold], count=1, agent="builtin", seed=seed)
        episode = episode_run(episode=episode, handoff=False)
        task = task_materialize(episode=episode) if episode.status == "validating" else None
        family = episode.fault_family or (task.category if task else "")
        if task is not None and not task.oracle_missing and family not in chosen:
            chosen[family] = task
            print(f"  task {task.slug}: family {family} (seed {seed})", flush=True)
        if len(chosen) >= families:
            break
    return list(chosen.items())


def reused_tasks(families: int) -> list:
    """One validated task per fault family from an earlier run's database, oldest first."""
    from tasks.models import Task

    chosen: dict[str, object] = {}
    for task in Task.objects.select_related("episode").order_by("pk"):
        family = task.episode.fault_family or task.category
        if not task.oracle_missing and family not in chosen and len(chosen) < families:
            chosen[family] = task
    return list(chosen.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdists", nargs="+", default=DEFAULT_SDISTS)
    parser.add_argument("--families", type=int, default=8)
    parser.add_argument("--max-episodes", type=int, default=40)
    parser.add_argument("--reuse", metavar="DATA_DIR", help="take the validated tasks an earlier run left in its data dir")
    args = parser.parse_args()
    setup_django(args.reuse)
    sys.path.insert(0, str(ROOT))
    from django.core.management import call_command

    from inversion.engine.validate.hacks import LIBRARY
    from tasks.exporters.zipout import extract
    from tests.support import harness_kit as kit

    started = time.monotonic()
    pairs = reused_tasks(args.families) if args.reuse else family_tasks(args.sdists, args.families, args.max_episodes)
    print(f"{len(pairs)} families in {time.monotonic() - started:.0f} s")
    work = Path(tempfile.mkdtemp(prefix="bench-hacks-"))
    from django.contrib.auth import get_user_model

    if not get_user_model().objects.filter(is_superuser=True).exists():  # the CLI approves as an admin
        get_user_model().objects.create_superuser("bench-admin", "", None)
    call_command("studio", "tasks", "approve", *[t.slug for _, t in pairs], "--catalog", "hacks", stdout=io.StringIO())
    out = work / "hacks.zip"
    call_command("studio", "catalog", "export", "hacks", "--format", "harbor", "--out", str(out), stdout=io.StringIO())
    extract(out, work / "dataset")  # modes kept, as unzip does
    agents = [("oracle", None), ("nop", None), *[(h.stem, h) for h in sorted(LIBRARY.glob("*.sh"))]]
    rewards: dict[str, dict[str, object]] = {}
    for name, hack in agents:
        rows, seconds = kit.run_harbor(work / "dataset" / "harbor", name if hack is None else "", work / "jobs", hack=hack)
        for r in rows:
            rewards.setdefault(r["task"].split("/")[-1], {})[name] = r["reward"] if not r["exception"] else r["exception"]
        print(f"  harbor {name}: {seconds:.0f} s", flush=True)
    by_slug = {t.slug: f for f, t in pairs}
    names = [n for n, _ in agents]
    print(f"{'family':24} " + " ".join(f"{n[:10]:>10}" for n in names))
    wrong = 0
    for slug, row in sorted(rewards.items(), key=lambda kv: by_slug.get(kv[0], kv[0])):
        cells = []
        for n in names:
            value = row.get(n)
            want = 1.0 if n == "oracle" else 0.0
            wrong += value != want
            cells.append(f"{value!s:>10}")
        print(f"{by_slug.get(slug, slug)[:24]:24} " + " ".join(cells))
    print(f"{wrong} cells differ from the goal (oracle 1.0, nop and every hack 0.0)")


if __name__ == "__main__":
    main()
