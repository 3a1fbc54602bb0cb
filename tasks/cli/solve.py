"""`studio solve run CATALOG [--version V] --agent A [--model M] [--base-url URL] [--attempts K]
[--concurrency C] [--strength weak|strong] [--agent-option KEY=VALUE ...]`: a solver run, inline, with its per-task passes."""

from __future__ import annotations

from studio.lib.cli import CliResult
from studio.lib.roles import admin_user
from tasks.selectors.catalogs import catalog_get, catalog_version_get
from tasks.selectors.solver_runs import solver_run_summary
from tasks.services.solver_runs import solver_run_create, solver_run_execute


def _run(options, stdout) -> CliResult:
    version = catalog_version_get(catalog=catalog_get(name=options["catalog"]), number=options.get("version"))
    run = solver_run_create(
        version=version,
        agent=options["agent"],
        model=options["model"] or "",
        base_url=options["base_url"] or "",
        attempts=options["attempts"],
        concurrency=options["concurrency"],
        strength=options["strength"] or "",
        agent_options=options.get("agent_options") or [],
        user=admin_user(options.get("as_user")),
    )
    run = solver_run_execute(run=run)
    data = solver_run_summary(run=run)
    rate = "-" if data["pass_rate"] is None else f"{data['pass_rate']:.0%}"
    lines = [
        f"run {run.pk} {run.status}: {run.solver} on {data['catalog']} v{data['version']}: "
        f"{data['passed']}/{data['trials']} trials passed ({rate}) in {run.elapsed:.0f}s"
    ]
    lines += [f"  {r['task']}: {r['passed']}/{r['attempts']}" for r in data["per_task"]]
    if run.error:
        lines.append(run.error[-1000:])
    return CliResult(data=data, text="\n".join(lines), exit_code=0 if run.status == "done" else 1)


def register(groups) -> None:
    solve = groups.add_parser("solve", help="Run a Harbor agent on a catalog's tasks").add_subparsers(
        dest="verb", required=True
    )
    run = solve.add_parser(
        "run", help="Solver run: k attempts per task with a Harbor agent, in the real harness"
    )
    run.add_argument("catalog")
    run.add_argument("--version", type=int, help="catalog version (default: the latest)")
    run.add_argument("--agent", required=True, help="oracle, nop, terminus-2, ... (Harbor's agent names)")
    run.add_argument("--model", help="LiteLLM model name for LLM agents, e.g. openai/qwen2.5-coder-1.5b")
    run.add_argument("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL)")
    run.add_argument("--attempts", "-k", type=int, default=1, help="trials per task (k)")
    run.add_argument("--concurrency", type=int, default=2, help="trials at a time")
    run.add_argument(
        "--strength",
        choices=["weak", "strong"],
        help="for measured difficulty (default: weak for 0.5-7B models, else strong)",
    )
    run.add_argument(
        "--agent-option", "--ak", dest="agent_options", action="append", metavar="KEY=VALUE",
        help="an agent option given to Harbor as --ak (repeatable), e.g. parser_name=xml",
    )
    run.add_argument("--user", dest="as_user", help="admin username to record (default: the first admin)")
    run.set_defaults(handler=_run)
