"""Issue texts from failure evidence: symptoms, never the cause.

Two writers share one evidence shape and one giveaway check: an offline writer that builds the
text from the failing tests' error output, and an LLM writer (used when a model is configured)
whose text is rejected, with the offline text as the fallback, when it names an injected
command, a changed path, an environment variable the episode set or any name the delta brought in
(a package such as `pytest-randomly`, a module such as `pytest_env_defaults`, a locale, a library
basename). Both produce a variant with a hint and a `hard` one without. The offline writer has
several voices (a CI notice, a colleague's message, a bug-report form, ...), picked per task, so a
catalog does not read as one template with the ids swapped. Plain Python, no Django.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROMPTS = Path(__file__).resolve().parent / "prompts"
COMMON_WORDS = {
    "python", "pytest", "bash", "echo", "true", "false", "test", "tests", "print", "import", "from",
    "with", "open", "exit", "then", "else", "done", "printf", "head", "tail", "the", "and", "for",
    "opt", "venv", "bin", "lib", "usr", "testbed", "site", "packages", "local", "share", "tmp", "etc",
    "site-packages", "utf-8", "dev/null", "sys.path", "__init__.py", "conftest.py", "python3", "x86_64",
    "set -e", "status=none", "conv=notrunc", "bs=64", "count=1", "/dev/zero", "/dev/null", "2>/dev/null",
}
# A name the delta brings in: a word with a separator (pytest-randomly, pytest_env_defaults,
# de_DE.UTF-8, libssl.so.3, zz-compat.pth), not a flag, a number or a bare version.
IMPORTED = re.compile(r"(?:^|[\s;\"'(])(?:import|from)\s+([A-Za-z_][A-Za-z0-9_]*)\b")
NAME = re.compile(r"(?<![\w.-])([A-Za-z_][A-Za-z0-9]*(?:[._+-][A-Za-z0-9_]+)+)")
# One broad area per category of the taxonomy (episode.categories): names the kind of place to
# look, never the thing that was changed.
CATEGORY_HINTS = {
    "shared_library": "how native extension modules and shared libraries are found and loaded",
    "python_dependency": "the installed Python packages and their versions",
    "module_shadowing": "which module Python actually imports for a given name",
    "startup_hooks": "what the interpreter executes at start-up",
    "bytecode_cache": "what Python loads instead of the source files it is given",
    "interpreter": "the Python interpreter installation itself",
    "environment": "the environment variables the tests run with",
    "path": "which programs the tests actually start",
    "config": "configuration files read by the tools and the test runner",
    "certificates": "TLS certificate configuration",
    "locale": "locale and text encoding settings",
    "timezone": "time zone data",
    "permissions": "file permissions and ownership",
    "filesystem": "the state of the filesystem the tests write to",
    "dynamic_linker": "how the dynamic linker decides which library file to load",
    "native_extension": "the libraries compiled extension modules depend on",
    "encoding": "how text is encoded when it is written and read",
    "warnings": "how the interpreter is told to treat warnings",
    "system_data": "system-wide data files the standard library consults",
    "alternatives": "where the programs the tests start really point to",
    "trust_store": "the system's trusted certificate store",
    "name_resolution": "how host names are resolved on this machine",
    "ownership": "who owns the directories the tooling works in",
    "package_version": "which version of each dependency is actually imported",
    "standard_library": "the modules that ship with the Python installation",
    "stale_build": "whether the code Python runs is the code the source files hold",
    "instrumentation": "what else runs inside the interpreter and touches the project's functions",
    "optional_dependency": "which optional packages the project finds installed and chooses to use",
    "project_layout": "which file each of the project's own modules is actually imported from",
    "partial_write": "whether each of the project's files on disk is whole",
    "debug_leftover": "whether the installed packages' code is exactly what was installed",
    "package_manager": "what the system's package manager believes is installed where",
    "source_encoding": "how the Python source files on this machine are stored on disk",
    "zip_import": "every place on the module search path, not only the directories",
    "build_artifact": "what else besides the source sits in the project's package directories",
    "local_patch": "whether the library code on disk is the code its packages shipped",
    "compat_shim": "what replaces library functions after their modules have loaded",
    "interrupted_upgrade": "whether every file of each installed package comes from the same release",
}


# Every task's verifier compares /testbed and the Python environment with the gold (reward integrity);
# the text says so, so that a repair that restores a changed file is never told it must not touch it.
GRADING_NOTE = (
    "When the repair is graded, the files under `/testbed` and the installed Python environment are "
    "compared with their original state: restore anything there that was changed, and do not add, "
    "rewrite or reinstall anything else there."
)


@dataclass
class Evidence:
    repo: str
    category: str
    f2p: list[str]
    excerpts: dict[str, str]  # test id -> failure text
    test_cmd: str = "python -m pytest"
    delta: list[dict] = field(default_factory=list)  # the episode's kept steps
    changed_paths: list[str] = field(default_factory=list)
    seed: int = 0  # picks the voice: the same task always reads the same, a batch reads differently
    edits_testbed: bool = False  # the repair restores files under /testbed: the text must not call them untouchable


@dataclass
class IssueText:
    instruction: str
    instruction_hard: str
    source: str  # "writer" | "llm"
    note: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


def giveaway_tokens(evidence: Evidence) -> set[str]:
    """Words that would reveal the cause: env names set, paths, and every name the delta brought in
    (package, module, locale, library and file names in commands and values)."""
    tokens: set[str] = set()
    for step in evidence.delta:
        text = str(step.get("value", "")) if "env" in step else str(step.get("run", ""))
        if "env" in step:
            tokens.add(step["env"])
        try:
            words = shlex.split(text, comments=False)
        except ValueError:
            words = text.split()
        for word in words:
            tokens.update(_path_tokens(word))
        tokens.update(_names(text))
    for path in evidence.changed_paths:
        tokens.update(_path_tokens(path))
        tokens.update(_names(path.rsplit("/", 1)[-1]))
    return {t for t in tokens if len(t) >= 4 and t.lower() not in COMMON_WORDS and not _versionish(t)
            and not re.search(r"\s", t)}


def _names(text: str) -> set[str]:
    """Separator names in a command or value, and their parts with a separator of their own
    (`de_DE.UTF-8` also gives `de_DE`; `pytest-randomly>=3.4` gives `pytest-randomly`)."""
    out = set()
    for match in NAME.finditer(text):
        name = match.group(1).strip("._-")
        out.add(name)
        out.update(p for p in re.split(r"[.]", name) if re.search(r"[_-]", p) and len(p) >= 4)
    # A module a written line imports (`import ipdb; ...`), unless the standard library's (the
    # scripts a delta runs import os and ast themselves).
    out.update(m for m in IMPORTED.findall(text) if m.split(".")[0] not in sys.stdlib_module_names)
    return {n for n in out if not n.startswith(("self.", "sys.", "os.", "_sys.", "importlib.")) or n.count(".") > 2}


def _versionish(token: str) -> bool:
    return bool(re.fullmatch(r"[\d.x_-]+|v?\d+(\.\d+)*([a-z]+\d*)?", token))


def _path_tokens(word: str) -> set[str]:
    out = set()
    if re.fullmatch(r"[A-Z][A-Z0-9_]{3,}", word.split("=")[0]):
        out.add(word.split("=")[0])
    for piece in word.split("="):
        clean = piece.strip("'\"();|&<>,")
        if "/" not in clean:
            continue
        if clean.count("/") >= 2 or clean.startswith("/"):
            out.add(clean.rstrip("/"))
        out.update(p for p in re.split(r"[/:]", clean) if "." in p or len(p) >= 6)
    return {t for t in out if t}


def find_giveaways(text: str, tokens: set[str]) -> list[str]:
    lower = text.lower()
    return sorted(t for t in tokens if t.lower() in lower)


def _redact(text: str, tokens: set[str]) -> str:
    for token in sorted(tokens, key=len, reverse=True):
        text = re.sub(re.escape(token), "…", text, flags=re.IGNORECASE)
    return text


RAISED = re.compile(r"^E\s+((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Warning)\b.*)")


def _symptom(excerpt: str) -> str:
    """The most telling line of a failure: the last exception pytest marked with `E` and its message
    (the traceback's last line names only the exception, `path:15: AttributeError`, and the path is
    often what the leak check hides: munch's compat-shim tasks read `…:15: AttributeError`), else the
    last line naming an exception or error."""
    excerpt = re.sub(r"^pytest wrote no results \(exit [^)]*\):\s*", "", excerpt.strip())
    lines = [ln.strip() for ln in excerpt.splitlines() if ln.strip()]
    raised = [m.group(1) for m in map(RAISED.match, lines) if m]
    if raised:
        return raised[-1][:300]
    for line in reversed(lines):
        if re.search(r"(Error|Exception|error:|denied|not found|No such|assert)", line):
            return line[:300]
    return lines[-1][:300] if lines else "fails"


# Voices: (opening, how the failures are introduced, closing). {n} failing tests, {tests} "test"/"tests",
# {verb} "fails"/"fail", {repo}, {cmd}. Each closing says what to do without claiming more than is known.
VOICES = (
    ("The test suite of `{repo}` used to pass in this environment, but now {n} {tests} {verb} when running "
     "`{cmd}` in `/testbed`:", "The failures look like this:",
     "Find out what is wrong with the environment and repair it so that the whole test suite passes again."),
    ("CI is red for `{repo}`. `{cmd}` (run from `/testbed`) reports {n} failing {tests} that were green on the "
     "previous run:", "Representative errors from the log:",
     "Get the environment back to a state where the full suite is green."),
    ("Hi, since this morning I can't get the tests of `{repo}` to pass on this box any more. Running `{cmd}` in "
     "`/testbed` gives me {n} failing {tests}:", "What I see is mostly this:",
     "Could you figure out what happened to the environment and fix it? The whole suite should pass again."),
    ("**What happened**: `{cmd}` in `/testbed` now fails for `{repo}` ({n} {tests}).\n\n**Failing tests**:",
     "**Errors**:", "**Expected**: every test passes, as it did before. Please repair the environment."),
    ("Heads-up: the `{repo}` environment seems to have degraded. {n} {tests} that used to pass {verb} now "
     "(`{cmd}`, working directory `/testbed`):", "The error output includes:",
     "Please track down the cause in the environment and restore it; all tests need to pass."),
)
SCOPE = ("The project's source code and tests are correct.",
         "Nobody meant to change the code under test.")
HINTS = ("Hint: look at {area}.", "Hint: look at {area} first.")


def offline_issue(evidence: Evidence) -> IssueText:
    tokens = giveaway_tokens(evidence)
    ids = evidence.f2p
    shown = ids[:8]
    more = f"\n- … and {len(ids) - len(shown)} more" if len(ids) > len(shown) else ""
    listing = "\n".join(f"- `{t}`" for t in shown) + more
    symptoms = []
    for t in shown[:3]:
        line = _redact(_symptom(evidence.excerpts.get(t, "")), tokens)
        if line not in symptoms:
            symptoms.append(line)
    errors = "\n".join(f"    {s}" for s in symptoms)
    pick = (evidence.seed + sum(map(ord, evidence.repo))) % len(VOICES)
    opening, intro, closing = VOICES[pick]
    one = len(ids) == 1
    opening = opening.format(repo=evidence.repo, cmd=evidence.test_cmd, n=len(ids), tests="test" if one else "tests",
                             verb="fails" if one else "fail")
    # Files under /testbed may be what the repair restores (a config edit): never call them untouchable.
    scope = SCOPE[1] if evidence.edits_testbed else SCOPE[0]
    hard = f"{opening}\n\n{listing}\n\n{intro}\n\n{errors}\n\n{scope} {closing}\n\n{GRADING_NOTE}"
    area = CATEGORY_HINTS.get(evidence.category, "the environment the tests run in")
    hint = f"{hard}\n\n" + HINTS[evidence.seed % len(HINTS)].format(area=area)
    return IssueText(hint, hard, "writer")


LLM_VOICES = ("a developer writing to a colleague", "a terse CI notification", "a user filing a bug report form",
              "a maintainer triaging a report", "an on-call engineer's hand-over note")


def llm_issue(evidence: Evidence, client, *, prompt_version: str = "v2") -> IssueText:
    """Ask the model for both variants; fall back to the offline text on any error or giveaway."""
    fallback = offline_issue(evidence)
    tokens = giveaway_tokens(evidence)
    template = (PROMPTS / f"issue_writer_{prompt_version}.md").read_text()
    failures = "\n\n".join(
        f"### {t}\n{_redact(evidence.excerpts.get(t, '')[:1200], tokens)}" for t in evidence.f2p[:6])
    scope = ("Do not claim that the project's files are untouched: the repair may have to restore some of them"
             if evidence.edits_testbed else "Say that the source code and tests are correct")
    prompt = template.format(repo=evidence.repo, count=len(evidence.f2p), test_cmd=evidence.test_cmd,
                             category=evidence.category, failures=failures, scope=scope,
                             voice=LLM_VOICES[(evidence.seed + len(evidence.repo)) % len(LLM_VOICES)])
    reply = client.complete([{"role": "user", "content": prompt}])
    used = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
    if reply.error:
        return IssueText(fallback.instruction, fallback.instruction_hard, "writer", f"llm error: {reply.error}"[:300], **used)
    from inversion.engine.runtime.llm.client import (
        parse_json_leniently,  # lazy: optional dependency of the writer
    )

    data = parse_json_leniently(reply.content) or {}
    hint, hard = str(data.get("instruction") or "").strip(), str(data.get("instruction_hard") or "").strip()
    if not hint or not hard:
        return IssueText(fallback.instruction, fallback.instruction_hard, "writer", "llm reply unusable", **used)
    leaks = find_giveaways(hint + "\n" + hard, tokens)
    if leaks:
        note = f"llm text named {', '.join(leaks[:5])}; offline text used"
        return IssueText(fallback.instruction, fallback.instruction_hard, "writer", note[:300], **used)
    return IssueText(f"{hint}\n\n{GRADING_NOTE}", f"{hard}\n\n{GRADING_NOTE}", "llm", "", **used)
