"""Run in the task container with the gold's interpreter (the tests' sources are only there).

`stale SEED TESTS SRC...`: the cached bytecode of each source holds an older body of one function.
`wrap SEED TESTS HOOK PTH MODULE=SRC...`: a .pth loads HOOK, an auto-instrumentation bootstrap whose
post-import hook wraps one function of each module in a span that drops the return value.
The function: one that some test files name (others, if any, do not) and that its module does not
use while it loads. No annotations: the gold's Python may be old. The studio prepends `HOOK_TEMPLATE = '...'` when it sends this script.
"""

import ast
import importlib._bootstrap_external as ext
import importlib.util
import os
import random
import re
import sys

HOOK_TEMPLATE = globals().get("HOOK_TEMPLATE", "")


def pick(src, rng, tests):
    texts = []
    for t in tests:
        try:
            with open(os.path.join("/testbed", t), encoding="utf-8", errors="replace") as fh:
                texts.append(fh.read())
        except OSError:
            pass
    with open(src, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    loading = set()  # names the module uses while it loads; a class body counts whole (a safe excess)
    for node in tree.body:
        parts = [node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts = node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]
        for part in parts:
            loading |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
    ranked = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("__") or node.name in loading:
            continue
        used = sum(1 for t in texts if re.search(r"\b" + re.escape(node.name) + r"\b", t))
        if used:
            ranked.append((used < len(texts), used, node.name))
    if not ranked:
        sys.exit(f"no function of {src} is named by a test file")
    ranked.sort(reverse=True)
    best = [r for r in ranked if r[0] == ranked[0][0]][: max(1, len(ranked) // 2)]
    return tree, rng.choice(best)[2]


def stale(rng, tests, srcs):
    for src in srcs:
        tree, name = pick(src, rng, tests)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                doc = [node.body[0]] if ast.get_docstring(node) is not None else []
                gen = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(node))
                node.body = doc + ast.parse("return\nyield" if gen else "return None").body
        code = compile(ast.fix_missing_locations(tree), src, "exec")
        st = os.stat(src)
        pyc = importlib.util.cache_from_source(src)
        os.makedirs(os.path.dirname(pyc), exist_ok=True)
        with open(pyc, "wb") as fh:
            fh.write(ext._code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))
        print("stale:", src, name)


def wrap(rng, tests, hook, pth, pairs):
    targets = {}
    for pair in pairs:
        module, src = pair.split("=", 1)
        targets.setdefault(module, []).append(pick(src, rng, tests)[1])
    with open(hook, "w") as fh:
        fh.write(HOOK_TEMPLATE.replace("TARGETS = {}", f"TARGETS = {targets!r}"))
    with open(pth, "w") as fh:
        fh.write(f"import {os.path.basename(hook)[:-3]}\n")
    print("wrapped:", targets)


if __name__ == "__main__":
    mode, seed, tests = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    if mode == "stale":
        stale(random.Random(seed), tests, sys.argv[4:])
    else:
        wrap(random.Random(seed), tests, sys.argv[4], sys.argv[5], sys.argv[6:])
