"""The LLM agent: Chat Completions with one `act` tool, against any OpenAI-compatible endpoint.

One tool whose `action` field selects what to do works both where the server honours
`tool_choice="auto"` and on small local servers that need the tool named every turn. The
prompt and the tool schema are versioned files in `inversion/engine/prompts/`. A bad reply
(HTTP error, no tool call, unparsable arguments, unknown action) becomes a `Decision` with
`error` set; the loop counts it and this agent feeds the error back on the next turn.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from inversion.engine.episode.actions import Finish, RunCommand, RunTests, SetEnv
from inversion.engine.episode.agents.base import Agent, AgentContext, Decision, Observation
from inversion.engine.episode.categories import CATEGORIES as CATALOG_CATEGORIES

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
CATEGORIES = ", ".join(CATALOG_CATEGORIES)
OBS_OUTPUT = 2500


def load_prompt(version: str = "v2") -> tuple[str, list[dict]]:
    return (PROMPTS / f"agent_{version}.md").read_text(), json.loads((PROMPTS / f"tools_{version}.json").read_text())


def _lines(items: list[str], limit: int) -> str:
    shown = [f"  - {i}" for i in items[:limit]]
    if len(items) > limit:
        shown.append(f"  - ... ({len(items) - limit} more)")
    return "\n".join(shown) or "  (none recorded)"


def system_prompt(context: AgentContext, template: str) -> str:
    """The prompt with concrete facts: real paths, versions, test ids, directions, used themes."""
    s, b, repo = context.surface or {}, context.baseline or {}, context.repository or {}
    py = s.get("python", {})
    mods = s.get("modules", {})
    site = [f"{m.get('name')} -> {m.get('file')} ({m.get('dist') or '?'} {m.get('version') or ''})".rstrip()
            for m in mods.get("site", [])]
    project = [f"{m.get('name')} -> {m.get('file')}" for m in mods.get("project", [])]
    libs = [f"{x.get('path')} ({x.get('package') or x.get('name') or '?'})" for x in s.get("shared_libs", [])]
    exes = ", ".join(f"{e.get('name')} ({e.get('path')})" for e in s.get("executables", [])[:15]) or "none recorded"
    packages = ", ".join(f"{p.get('name')}=={p.get('version')}" for p in s.get("packages", [])[:60]) or "unknown"
    summary = repo.get("summary") or {}
    return template.format(
        command_timeout=context.budget.command_timeout, max_steps=context.budget.max_steps,
        max_tokens=context.budget.max_tokens, repo_name=repo.get("name", "?"), repo_spec=repo.get("spec", ""),
        repo_summary=json.dumps(summary)[:1500] if summary else "",
        counts=json.dumps(b.get("counts", {})), sample_tests=_lines(list(b.get("stable_passing", [])), 25),
        python=f"{py.get('executable', '?')} (Python {py.get('version', '?')}, prefix {py.get('prefix', '?')})",
        site_packages=py.get("site_packages", "?"), site_modules=_lines(site, 40),
        project_modules=_lines(project, 20), shared_libs=_lines(libs, 40), executables=exes, packages=packages,
        categories=CATEGORIES, directions=_directions(context),
        used_themes=_themes(context), ideas=fault_ideas(context),
    )


def _themes(context: AgentContext) -> str:
    """Categories and families used on this repository, and the signatures of the tasks this gold
    already has (the guard: the model reads them as themes to avoid)."""
    text = ", ".join(context.used_themes) or "(none yet)"
    labels = [s.get("label") for s in context.used_signatures or [] if s.get("label")]
    if labels:
        text += "\nTasks already made on this environment (do not repeat them; break something else): " + "; ".join(labels[:30])
    return text


def _directions(context: AgentContext) -> str:
    text = context.directions or "(none)"
    if context.faults > 1:
        text += (f"\nLay {context.faults} faults of DIFFERENT categories, one after the other, so that fixing the "
                 "first only reveals the next (different error messages). Finish once with `layers`: one "
                 "{category, summary, repair} per fault in the order you laid them, and a repair_script that "
                 "undoes all of them (last laid first).")
    return text


IDEA_MAX_COMMAND = 600


def plan_ideas(context: AgentContext, limit: int = 4) -> list[dict[str, Any]]:
    """Concrete breakage ideas from the fault catalog, planned on this gold's real paths.

    Small models propose the right kind of breakage when given concrete paths and guess paths
    wrong without; hosted models read them as examples. Ordered like the built-in agent's choice
    (directions, unused themes, seed-rotated category). Each idea: category, summary, the `act`
    arguments of its steps, and its repair script."""
    from inversion.engine.episode.agents.ordering import candidate_order
    from inversion.engine.episode.faults.base import PlanContext, families

    surface, baseline = context.surface or {}, context.baseline or {}
    fams = [f for f in families() if f.applicable(surface, baseline)]
    ordered = candidate_order(fams, seed=context.seed, directions=context.directions,
                              used_themes=context.used_themes)
    rng, ideas = random.Random(context.seed), []
    for fam in ordered:
        if len(ideas) >= limit:
            break
        try:
            plan = fam.plan(PlanContext(surface, baseline), rng)
        except Exception:  # a family that cannot plan here is simply not suggested
            continue
        steps = [{"action": "run_command", "command": a.command} if isinstance(a, RunCommand)
                 else {"action": "set_env", "name": a.name, "value": a.value} for a in plan.actions]
        if any(len(s.get("command", "")) > IDEA_MAX_COMMAND for s in steps):
            continue  # a script of kilobytes (the project families' chooser) is no idea for a prompt
        ideas.append({"category": fam.category, "summary": plan.summary, "steps": steps, "repair": plan.repair})
    return ideas


def fault_ideas(context: AgentContext, limit: int = 4) -> str:
    """The ideas as prompt text."""
    lines = []
    for idea in plan_ideas(context, limit):
        steps = [f"run_command: {s['command']}" if s["action"] == "run_command" else f"set_env: {s['name']}={s['value']}"
                 for s in idea["steps"]]
        repair = "; ".join(line for line in idea["repair"].splitlines()[2:] if line.strip())
        lines.append(f"- [{idea['category']}] {idea['summary']}\n    " + "\n    ".join(steps) + f"\n    repair: {repair}")
    return "\n".join(lines) or "  (no catalog idea applies; explore the surface above)"


class Coach:
    """Turns the ideas into one concrete next step whenever the model makes no progress.

    A 0.5-1.5B model given a page of facts tends to loop (re-running tests, finishing early); a
    single ready-to-send `act` argument object after each unproductive turn gets it moving."""

    def __init__(self, ideas: list[dict[str, Any]]) -> None:
        self.queue = [(i, step) for i, idea in enumerate(ideas) for step in idea["steps"]]
        self.ideas = ideas
        self.current: int | None = None

    def followed(self, args: dict[str, Any]) -> None:
        """Track which idea the model is carrying out. Any other command or variable ends that:
        if the tests then fail, it was the model's own change, and the idea's repair would not
        undo it (seen with the 1.5B model, which deleted the loader and finished with the idea's
        certificate repair)."""
        if self.queue and all(args.get(k) == v for k, v in self.queue[0][1].items()):
            self.current = self.queue.pop(0)[0]
        elif args.get("action") in ("run_command", "set_env"):
            self.current = None

    def wants_command(self, obs: Observation | None) -> bool:
        """After an unproductive turn, the next turn names the `run_command` tool (small local
        servers honour a named tool choice), so the model cannot finish early again."""
        if obs is None or not self.queue:
            return False
        return obs.kind == "error" or (obs.kind == "tests" and not obs.payload.get("newly_failing"))

    def hint(self, obs: Observation) -> str:
        p = obs.payload
        if obs.kind == "tests" and p.get("newly_failing") and self.current is not None:
            idea = self.ideas[self.current]
            args = {"action": "finish", "category": idea["category"], "summary": idea["summary"],
                    "repair_script": idea["repair"]}
            return f"\nSuggested next `act` arguments: {json.dumps(args)}"
        progress = obs.kind == "tests" and p.get("newly_failing")
        if progress or not self.queue:
            return ""
        return f"\nNo test fails yet. Suggested next `act` arguments: {json.dumps(self.queue[0][1])}"


def describe(obs: Observation) -> str:
    """An observation as the model reads it: short and factual."""
    p = obs.payload
    if obs.kind == "error":
        return f"ERROR: {p.get('message')}. Call the `act` tool with valid arguments."
    if obs.kind == "tests":
        text = (f"Tests ({p.get('selected')} selected): counts {json.dumps(p.get('counts'))}; "
                f"newly failing stably-passing tests: {p.get('newly_failing_total', len(p.get('newly_failing', [])))}")
        if p.get("newly_failing"):
            text += "\n" + "\n".join(f"- {t}" for t in p["newly_failing"][:10])
            for tid, msg in list((p.get("messages") or {}).items())[:2]:
                text += f"\n{tid}:\n{msg[:600]}"
            text += "\nSuccess: now call `act` with action=finish (category, summary, repair_script)."
        if "after" in p:
            text = f"{describe(Observation('command' if 'command' in p['after'] else 'setenv', p['after']))}\n{text}"
        return text
    if obs.kind == "setenv":
        return f"Set {p.get('name')}={p.get('value')} for later commands and test runs."
    output = str(p.get("output", ""))
    if len(output) > OBS_OUTPUT:
        output = output[: OBS_OUTPUT // 2] + "\n[...]\n" + output[-OBS_OUTPUT // 2:]
    return (f"exit code {p.get('exit_code')}{' (timed out)' if p.get('timed_out') else ''}; "
            f"{'changed the filesystem' if p.get('mutated') else 'no filesystem change'}\n{output}")


def to_action(args: dict[str, Any]):
    """Tool arguments -> action, or raise ValueError with a message for the model."""
    kind = str(args.get("action", "")).strip()
    if kind == "run_command":
        command = str(args.get("command") or "").strip()
        if not command:
            raise ValueError("run_command needs a non-empty `command`")
        return RunCommand(command)
    if kind == "set_env":
        name = str(args.get("name") or "").strip()
        if not name.replace("_", "").isalnum() or name[0].isdigit():
            raise ValueError("set_env needs a valid variable `name`")
        return SetEnv(name, str(args.get("value") or ""))
    if kind == "run_tests":
        ids = args.get("test_ids") or None
        return RunTests(tuple(str(i) for i in ids) if isinstance(ids, list) and ids else None)
    if kind == "finish":
        layers = tuple({"family": "", "category": str(la.get("category") or "")[:60], "target": str(la.get("target") or ""),
                        "summary": str(la.get("summary") or "")[:500], "repair": str(la.get("repair") or "")}
                       for la in (args.get("layers") or []) if isinstance(la, dict))
        return Finish(str(args.get("category") or "environment").strip().lower()[:60],
                      str(args.get("summary") or "")[:500], str(args.get("repair_script") or ""),
                      layers=layers if len(layers) > 1 else ())
    raise ValueError(f"unknown action {kind!r}; use run_command, set_env, run_tests or finish")


class LLMAgent(Agent):
    kind = "llm"

    def __init__(self, *, base_url: str = "", model: str = "", api_key: str = "", tool_choice_mode: str = "auto",
                 prompt_version: str = "v2", client=None, max_tokens: int = 1024, **_: Any) -> None:
        if client is None:
            from inversion.engine.runtime.llm.client import ChatClient

            client = ChatClient(base_url=base_url, api_key=api_key or "none", model=model,
                                tool_choice_mode=tool_choice_mode, max_tokens=max_tokens)
        self.client = client
        self.template, self.tools = load_prompt(prompt_version)
        self.messages: list[dict[str, Any]] = []
        self.pending_call: str = ""

    def start(self, context: AgentContext) -> None:
        super().start(context)
        self.coach = Coach(plan_ideas(context))
        self.messages = [{"role": "system", "content": system_prompt(context, self.template)},
                         {"role": "user", "content": "Begin: inspect the environment, then break it."}]

    def _has_tool(self, name: str) -> bool:
        return any(t.get("function", {}).get("name") == name for t in self.tools)

    def _observe(self, last: Observation | None) -> None:
        if last is None:
            return
        text = describe(last) + self.coach.hint(last)
        if self.pending_call:
            self.messages.append({"role": "tool", "tool_call_id": self.pending_call, "content": text})
        else:
            self.messages.append({"role": "user", "content": text})
        self.pending_call = ""

    def next_action(self, last: Observation | None) -> Decision:
        self._observe(last)
        tool = "run_command" if self.coach.wants_command(last) and self._has_tool("run_command") else "act"
        reply = self.client.complete(self.messages, self.tools, tool_name=tool)
        used = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
        if reply.outage:  # retried with backoff already: not the model's fault, nothing to feed back
            return Decision(None, error=reply.error, fatal=True, **used)
        call = reply.tool_calls[0] if reply.tool_calls else None
        if call is not None:  # recorded even when broken, so the error goes back as its result
            self.messages.append({"role": "assistant", "content": reply.content or None, "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.raw_arguments}}]})
            self.pending_call = call.id
            if call.error or call.arguments is None:
                return Decision(None, thought=reply.content, error=f"bad tool call: {call.error or reply.error}", **used)
            args = {"action": "run_command", **call.arguments} if call.name == "run_command" else call.arguments
        else:
            if reply.content:
                self.messages.append({"role": "assistant", "content": reply.content})
            if reply.error:
                return Decision(None, thought=reply.content, error=f"model reply unusable: {reply.error}", **used)
            from inversion.engine.runtime.llm.client import parse_json_leniently

            args = parse_json_leniently(reply.content or "")
            if not args or "action" not in args:
                return Decision(None, thought=reply.content, error="the reply had no `act` tool call", **used)
        self.coach.followed(args)
        try:
            action = to_action(args)
        except ValueError as exc:
            return Decision(None, thought=str(args.get("thought") or reply.content or ""), error=str(exc), **used)
        return Decision(action, thought=str(args.get("thought") or reply.content or "")[:2000], **used)
