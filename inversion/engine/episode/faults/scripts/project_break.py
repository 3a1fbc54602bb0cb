"""Run in the task container with the gold's interpreter (the tests' sources are only there).

`stale SEED TESTS NTH SRC...`: the cached bytecode of the NTH source (from 0) that has a function to
aim at holds an older body of that function.
`wrap SEED TESTS HOOK PTH COUNT MODULE=SRC...`: a .pth loads HOOK, an auto-instrumentation bootstrap
whose post-import hook wraps one function of each of the first COUNT such modules in a span that
drops the return value.
`leftover SEED TESTS NTH SRC...`: the NTH source (from 0) that has a function to aim at gets an older
layout's package directory beside it, without that function, which imports instead of the module.
`truncate SEED TESTS NTH SRC...`: the NTH source (from 0) that has a function to aim at is cut short
at the top-level statement that holds it (a copy that ran out of space), the whole file staged
beside it as `.NAME.XXXXXX` (how rsync names the file it copies to).
A later step (NTH > 0) that finds no further module changes nothing and exits 0: the multi-step
variant keeps the steps the project allows.
The function: one that some test files name (others, if any, do not) and that its module does not
use while it loads; where the edit takes it away (leftover, truncate), every test of a file that
imports it by name as it loads counts as one that calls it. No annotations: the gold's Python may be old. The studio prepends `HOOK_TEMPLATE = '...'` when it sends this script
(and puts `ast_edit.py`, the helpers it shares with `function_edit.py`, in place of their import).
"""

import ast
import os
import random
import re
import sys

# ast_edit.py's body is sent in place of this line (`faults.base.script_body`): keep it one line
from ast_edit import FUNCS, find, gives_back, keep, no_target, write_older_body

HOOK_TEMPLATE = globals().get("HOOK_TEMPLATE", "")


TEXTS = {}  # the test files' sources, read once
UNITS = []  # the tests: each test function's source (a file's whole text where it cannot be split)
UNIT_FILES = []  # the test file of each of UNITS
COLLECTED = {}  # test file -> the names it imports as it loads (`collected_names`)


def split_tests(text):
    """The source of each test function and test method of a file ([text] where none is found)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return [text]
    found = []
    for node in tree.body:
        if isinstance(node, FUNCS) and node.name.startswith("test"):
            found.append(node)
        elif isinstance(node, ast.ClassDef):  # pytest's Test* classes and unittest's TestCases alike
            found += [n for n in node.body if isinstance(n, FUNCS) and n.name.startswith("test")]
    segment = getattr(ast, "get_source_segment", None)
    units = [segment(text, n) or "" for n in found] if segment else []
    return units or [text]


def read_tests(tests):
    if TEXTS:
        return
    for t in tests:
        try:
            with open(os.path.join("/testbed", t), encoding="utf-8", errors="replace") as fh:
                TEXTS[t] = fh.read()
        except OSError:
            continue
        add_tests(t, TEXTS[t])


def add_tests(name, text):
    """Take in test file `name`'s source: its tests, each one's file."""
    TEXTS[name] = text
    units = split_tests(text)
    UNITS.extend(units)
    UNIT_FILES.extend([name] * len(units))


def candidates(tree):
    """(name, node) of the module's plain functions and of its classes' plain methods
    ("Class.method"; no dunders, no decorated ones: a property or classmethod is not a function),
    each one that gives something back."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("__") and gives_back(node):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if (isinstance(sub, ast.FunctionDef) and not sub.name.startswith("__") and not sub.decorator_list
                        and gives_back(sub)):
                    yield node.name + "." + sub.name, sub


def collected_names(text):
    """Names a test file imports from other modules while it loads (`from jsonpointer import
    resolve_pointer` at module level, in a class body, under an `if` or `try`; "*" for a star
    import): a module without one of them fails to collect, and so does every test in that file."""
    names = set()
    try:
        stack = list(ast.parse(text).body)
    except (SyntaxError, ValueError):
        return names
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ImportFrom):
            names.update(a.name for a in node.names)
        elif not isinstance(node, FUNCS):  # a test's own imports fail that test only
            stack.extend(ast.iter_child_nodes(node))
    return names


def kept(tree, names):
    """`names` (from `collected_names`) with what a star import takes from `tree`'s module."""
    return names | exported(tree) if "*" in names else names


def users(tree, words, lost):
    """How many tests a change fails that takes the names `lost` away from `tree`'s module (each of
    `words` a pattern of one): those that name one, and every test of a file that imports one as it
    loads (jsonpointer, one test file: a function taken away that it imported by name failed all 22
    tests, in every episode, where the count of tests naming it said 6)."""
    if lost and not COLLECTED:
        COLLECTED.update((t, collected_names(text)) for t, text in TEXTS.items())
    gone = {t for t in TEXTS if lost and kept(tree, COLLECTED[t]) & set(lost)}
    return sum(1 for i, u in enumerate(UNITS) if UNIT_FILES[i] in gone or any(w.search(u) for w in words))


def pick(src, rng, tests, avoid=(), removing=False):
    """The function to aim at: one some tests name and others do not (counted per test function,
    so a suite in one file still has some tests that pass), else one the test files name, else any
    (`session.get` reaches an adapter's `send`). `removing`: the edit takes the function away, so a
    test file that imports it by name fails whole (`users`)."""
    read_tests(tests)
    texts = list(TEXTS.values())
    try:
        with open(src, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):  # not this interpreter's syntax, not UTF-8: not a target
        return None, None
    loading = set()  # names the module uses while it loads; a class body counts whole (a safe excess)
    for node in tree.body:
        parts = [node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts = node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]
        for part in parts:
            loading |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
    ranked = []
    for name, node in candidates(tree):
        if node.name in loading or name in loading or any(node.name in text for text in avoid):
            continue
        word = re.compile(r"\b" + re.escape(node.name) + r"\b")
        # a method taken away leaves its class, which is what a test file imports
        used = users(tree, [word], [name] if removing and "." not in name else [])
        named = any(word.search(t) for t in texts)  # by a test, or by a helper or fixture of its file
        ranked.append((0 < used < len(UNITS), named, -abs(2 * used - len(UNITS)), name))
    if not ranked:
        return tree, None
    ranked.sort(reverse=True)  # unnamed ones last: the tests may reach them through another name
    best = [r for r in ranked if r[:2] == ranked[0][:2]][: max(1, len(ranked) // 2)]
    return tree, rng.choice(best)[-1]


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def workable(rng, tests, srcs, skip, count, among=(), later=None):
    """(source, tree, function) of the `count` sources after the first `skip` that have a function to
    aim at, in the order given (shuffled by the caller, seeded); with `among` (all the project's
    sources), only a function no other of them names (removing it breaks no other module's import),
    counting as its users every test of a file that imports it by name (`users`)."""
    found = []
    texts = {other: read(other) for other in among}
    for src in srcs:
        avoid = [text for other, text in texts.items() if other != src]
        tree, name = pick(src, rng, tests, avoid, removing=bool(among))  # `among`: the edit takes it away
        if name is not None:
            found.append((src, tree, name))
        if len(found) == skip + count:
            return found[skip:]
    if (skip if later is None else later) and len(found) <= skip:
        done_already()
    if not skip and found:  # several at once (wrap): as many as there are
        return found
    why = f"fewer than {skip + count} project modules have a function the tests name"
    no_target(why) if not found else sys.exit(why)


def done_already():
    """A later step of a multi-step variant finds no further module: the earlier steps did what this
    project allows; it changes nothing (and so adds no line to the task's Dockerfile)."""
    print("no further project module to aim at: the earlier steps were all this project allows")
    sys.exit(0)


def stale(rng, tests, skip, srcs):
    for src, tree, name in workable(rng, tests, srcs, skip, 1):
        write_older_body(src, tree, find(tree, name))
        print("stale:", src, name)


def leftover(rng, tests, skip, srcs):
    """The SKIP-th module with a function to aim at gets the package directory of an older layout
    beside it (MODULE/__init__.py: its code without that function, relative imports one level
    deeper), which the import system takes over the module."""
    unparse = getattr(ast, "unparse", None)
    if unparse is None:
        sys.exit("this interpreter cannot write the older copy (Python < 3.9)")
    modules = [s for s in srcs if not s.endswith("__init__.py") and not os.path.exists(s[:-3])]
    # the modules earlier steps gave a directory are out of the list already: take the first left
    for src, tree, name in workable(rng, tests, modules, 0, 1, among=srcs, later=skip > 0):
        outer, _, inner = name.rpartition(".")
        owner = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == outer) if outer else tree
        owner.body = [n for n in owner.body if not (isinstance(n, ast.FunctionDef) and n.name == inner)] or [ast.Pass()]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                node.level += 1
        os.makedirs(src[:-3])
        with open(os.path.join(src[:-3], "__init__.py"), "w", encoding="utf-8") as fh:
            fh.write(unparse(ast.fix_missing_locations(tree)) + "\n")
        print("leftover:", src[:-3], "without", name)


def tail_names(stmts):
    """Names the statements define at module level (what cutting them off takes away)."""
    names = set()
    for node in stmts:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import, ast.ImportFrom)):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, ast.alias):
                names.add((sub.asname or sub.name).split(".")[0])
    return names


def load_refs(text):
    """What a source needs of others while it loads: ({every name and attribute it uses at module
    level, outside function bodies: `curry(toolz.accumulate)`}, {module's last part: the names it
    imports from it, "*" for a star import}); an unparseable source may need anything of any module."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set(), {None: {"*"}}
    used, froms, stack = set(), {}, list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ImportFrom) and node.module:
            froms.setdefault(node.module.split(".")[-1], set()).update(a.name for a in node.names)
        elif isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        if isinstance(node, FUNCS):
            stack.extend(node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d])
        else:
            stack.extend(ast.iter_child_nodes(node))
    return used, froms


def exported(tree):
    """The names a module's `__all__` lists (a star import of it fails on one that is missing)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                return set(ast.literal_eval(node.value))
            except ValueError:
                return set()
    return set()


def cut_point(src, rng, tests, others):
    """(index of the top-level statement to cut at, names lost) for `src`: a statement holding a
    function some tests call, whose tail (it and all after it) no other source needs while it loads
    (imports by name, uses at module level, a star import where `__all__` lists it) and some tests
    never name, so the package still imports and a part of the suite still passes; None if none."""
    read_tests(tests)
    try:
        with open(src, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return None
    leaf = os.path.basename(src)[:-3]
    stem = os.path.basename(os.path.dirname(src)) if leaf == "__init__" else leaf
    needed = set()
    for used, froms in others:  # each other source's `load_refs`
        needed |= used | froms.get(stem, set()) | froms.get(None, set())
    if "*" in needed:
        needed |= exported(tree)
    owners = {}
    for name, _ in candidates(tree):
        owners.setdefault(name.split(".")[0], name)
    ranked = []
    for i, node in enumerate(tree.body):
        if i == 0 or getattr(node, "name", None) not in owners:
            continue
        lost = tail_names(tree.body[i:])
        words = [re.compile(r"\b" + re.escape(n) + r"\b") for n in sorted(lost) if not n.startswith("__")]
        if not words or lost & needed:
            continue
        used = users(tree, words, lost)  # a test file that imports one of them fails to collect
        if 0 < used < len(UNITS):
            ranked.append((-abs(2 * used - len(UNITS)), i, sorted(lost)))
    if not ranked:
        return None
    ranked.sort(reverse=True)  # the most even splits first; any tied with the better half's last
    bar = ranked[max(1, (len(ranked) + 1) // 2) - 1][0]
    return rng.choice([r for r in ranked if r[0] >= bar])[1:]


def staged_copy(src):
    """The whole copy an earlier step staged beside `src` (`.NAME.XXXXXX`), or None."""
    folder, leaf = os.path.split(src)
    for name in sorted(os.listdir(folder or ".")):
        if name.startswith("." + leaf + ".") and len(name) == len(leaf) + 8:
            return os.path.join(folder, name)
    return None


def truncate(rng, tests, skip, srcs):
    """The first source (in the order given) not cut yet that has a statement to cut at is cut there
    (at a statement boundary: it still imports), its whole text kept as `.NAME.XXXXXX` beside it.
    SKIP is how many earlier steps cut one; what they cut is read from their staged copies."""
    whole = {src: staged_copy(src) or src for src in srcs}
    refs = {src: load_refs(read(path)) for src, path in whole.items()}  # each source parsed once
    done = [src for src, path in whole.items() if path != src]
    if len(done) > skip:
        sys.exit(f"{len(done)} modules are cut already, not {skip}")
    if len(done) < skip:  # an earlier step found nothing more to cut
        done_already()
    for src in srcs:
        point = None if src in done else cut_point(src, rng, tests, [r for other, r in refs.items() if other != src])
        if point is None:
            continue
        index, lost = point
        with open(src, "rb") as fh:
            data = fh.read()
        node = ast.parse(data).body[index]
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        folder, leaf = os.path.split(src)
        tag = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))
        staged = os.path.join(folder, "." + leaf + "." + tag)
        keep(src, data, staged)  # bytes, mode and times
        with open(src, "wb") as fh:
            fh.write(b"".join(data.splitlines(keepends=True)[:start]))
        print("truncated:", src, "losing", ", ".join(lost), "whole copy at", staged)
        return
    if skip:
        done_already()
    no_target("no project module can be cut short and still import")


def wrap(rng, tests, hook, pth, count, pairs):
    modules = dict(pair.split("=", 1)[::-1] for pair in pairs)  # source -> module
    targets = {}
    for src, _, name in workable(rng, tests, list(modules), 0, count):
        targets.setdefault(modules[src], []).append(name)
    with open(hook, "w") as fh:
        fh.write(HOOK_TEMPLATE.replace("TARGETS = {}", f"TARGETS = {targets!r}"))
    with open(pth, "w") as fh:
        fh.write(f"import {os.path.basename(hook)[:-3]}\n")
    print("wrapped:", targets)


if __name__ == "__main__":
    mode, seed, tests = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    if mode == "stale":
        stale(random.Random(seed), tests, int(sys.argv[4]), sys.argv[5:])
    elif mode == "leftover":
        leftover(random.Random(seed), tests, int(sys.argv[4]), sys.argv[5:])
    elif mode == "truncate":
        truncate(random.Random(seed), tests, int(sys.argv[4]), sys.argv[5:])
    else:
        wrap(random.Random(seed), tests, sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7:])
