"""Run in the task container with the gold's interpreter: damage one function of an installed or
standard-library module, the one the call map says some tests call and others do not.

`stale SRC=QUALNAME...`: the module's cached bytecode, stamped with the source's mtime and size (so
the interpreter trusts it), holds an older body of the first of those functions that gives something
back (an older body that returns nothing changes nothing where it never did).
`debugline SRC=QUALNAME...`: the first of those functions with a statement on a line of its own gets,
as its first line, a debugger call left from a debugging session, with a debugger this environment
never had (`import ipdb; ipdb.set_trace()`).
`patched SRC=QUALNAME...`: the first of those functions that gives something back and has its body on
lines of its own gets, in the source, the stub body a hotfix patch for another release carried (it
raises NotImplementedError: a stub that returned nothing broke no test where the value only mattered
on an error path, yaml's reader marks; the docstring stays, a generator stays one), as `patch -b`
applies it: the file's original kept as `SRC.orig` beside it. A file that has an `.orig` already is
passed over.
`shadowcopy DIR SRC=QUALNAME...` / `stagecopy DIR SRC=QUALNAME...`: the same stub, in a copy of the
module written elsewhere (the source untouched): DIR/<file name>, or DIR/<full path> for a later step
to move into place (`copied`); `zipcopy ZIP SRC=QUALNAME...`: that copy compiled into a zip (`zipped`).
`shim HOOK PTH SRC=QUALNAME...`: the source untouched, a compatibility module HOOK (SHIM_TEMPLATE, which
the studio sends ahead of this script) that PTH imports at start-up routes the first of those functions
that has no decorator and is no method whose errors the runner swallows (`SWALLOWED`), of a module it
routes nothing of yet, to an accelerated implementation its module lacks, after the module loads
(`shimmed`); a later step adds a route to the same HOOK.
`upgraded SITE SRC=QUALNAME...`: the first of those functions (never one in SWALLOWED) whose body starts
on a line of its own gets the signature of the next release, a required keyword-only parameter more
(Python >= 3.9: `ast.unparse`), and the file's original is kept where pip stashes what an upgrade
replaces, SITE/~<top[1:]>/<rest> (`stash_of`), as an upgrade interrupted between the two leaves them
(`drifted`).
QUALNAME is "function", "Class.method" or "Outer.Inner.method"; where an old interpreter recorded a
bare name, the first function or method of that name. A function the test runner calls on its own
before any test (while pytest imports and configures itself: `uuid` calls `platform.system()` as it
loads) is passed over: damaged, it stops every test (semver: the call map had it, as tests call it
too). No annotations: the gold's Python may be old.
"""

import ast
import contextlib
import os
import sys

# the studio sends ast_edit.py's body in place of this line (`faults.base.script_body`): keep it one line
from ast_edit import ext, find, gives_back, is_generator, keep, no_target, write_older_body

DEBUG_LINE = "import ipdb; ipdb.set_trace()  # DEBUG"


def parse(src):
    with open(src, "rb") as fh:
        data = fh.read()
    return data, ast.parse(data)


# Run in a fresh interpreter of the gold's: every function of the given files called while pytest
# starts and collects an empty directory, as (file, first line, name). The call map asks the same at
# gold build (runtime/pytest_plugin/studio_pytest_calls.py), where these scripts are not sent.
PROBE = (
    "import os, sys\n"
    "want, seen = set(sys.argv[1:]), set()\n"
    "def hook(frame, event, arg):\n"
    "    code = frame.f_code\n"
    "    if event == 'call' and code.co_filename in want:\n"
    "        seen.add((code.co_filename, code.co_firstlineno, code.co_name))\n"
    "sys.setprofile(hook)\n"
    "try:\n"
    "    import pytest\n"
    "    pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', os.getcwd()])\n"
    "finally:\n"
    "    sys.setprofile(None)\n"
    "    print('\\nRUNNER-CALLS ' + repr(sorted(seen)))\n"
)


def runner_calls(sources):
    """(file, first line, name) of the functions of `sources` pytest calls on its own; empty where
    the probe cannot tell (no pytest for this interpreter, or an earlier layer broke what the probe
    itself uses: a stale `tempfile` function made `mkdtemp` fail, so it needs no more than `os` and
    `subprocess`, imported here). It writes no bytecode (`-B`): a cache it wrote could replace a
    stale one an earlier layer laid."""
    where = "/tmp/.probe-" + str(os.getpid())
    try:
        import subprocess

        os.mkdir(where)
        out = subprocess.run([sys.executable, "-B", "-c", PROBE] + sorted(sources), cwd=where, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=120).stdout.decode("utf-8", "replace")
        line = [ln for ln in out.splitlines() if ln.startswith("RUNNER-CALLS ")][-1]
        return set(ast.literal_eval(line[len("RUNNER-CALLS "):]))
    except Exception:  # the probe is advice: without it the first candidate is taken, as before
        return set()
    finally:
        with contextlib.suppress(OSError):  # contextlib: a runner module, never a target
            os.rmdir(where)


def called_by_runner(src, node, calls):
    """Whether `calls` holds `node`'s code (its first line is the first decorator's, or the def's)."""
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return any(f == src and name == node.name and first <= line <= node.lineno for f, line, name in calls)


def candidates(pairs):
    """(source, its tree, qualified name, def) for each SRC=QUALNAME given that is found and that the
    runner does not call on its own, in order."""
    trees = {}
    calls = runner_calls({pair.partition("=")[0] for pair in pairs})
    for pair in pairs:
        src, _, qualname = pair.partition("=")
        if src not in trees:
            try:
                trees[src] = parse(src)
            except (OSError, SyntaxError, ValueError):  # moved or damaged by an earlier layer: not this one
                trees[src] = None
        node = find(trees[src][1], qualname) if trees[src] else None
        if node is not None and not called_by_runner(src, node, calls):
            yield src, trees[src], qualname, node


def stale(pairs):
    found = next(((s, t, q, n) for s, t, q, n in candidates(pairs) if gives_back(n)), None)
    if found is None:
        sys.exit("none of the functions named gives anything back")
    src, (_, tree), qualname, node = found
    pyc = write_older_body(src, tree, node)
    print("stale:", pyc, "holds an older", qualname)


def own_row(node, stmt, data):
    """The row (from 0) where `stmt` of `node`'s body starts (its first decorator's), or None where
    that row holds other code too: the `def` line, or the last line of a signature split over several
    (itsdangerous's overload stubs, `) -> bytes: ...`)."""
    row = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])]) - 1
    if stmt.col_offset == 0 or row <= node.lineno - 1:
        return None
    lines = data.splitlines()
    return row if row < len(lines) and not lines[row][: stmt.col_offset].strip() else None


def first_line(node, data):
    """(row from 0, first statement) where the line goes, or None: only a docstring, or a body on a
    row with other code (`own_row`: a line put before a signature's last row broke the syntax, and the
    repair, which removes lines that are only the debugger call, could not take it out)."""
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    row = own_row(node, body[0], data) if body else None
    return None if row is None else (row, body[0])


def debugline(pairs):
    found = next(((s, t, q, first_line(n, t[0])) for s, t, q, n in candidates(pairs)
                  if first_line(n, t[0]) and DEBUG_LINE.encode() not in t[0]), None)
    if found is None:
        sys.exit("none of the functions named has a statement on a line of its own")
    src, (data, _), qualname, (row, first) = found
    lines = data.splitlines(keepends=True)
    indent = lines[row][: first.col_offset]
    newline = b"\r\n" if lines[row].endswith(b"\r\n") else b"\n"
    lines.insert(row, indent + DEBUG_LINE.encode() + newline)
    st = os.stat(src)
    with open(src, "wb") as fh:
        fh.write(b"".join(lines))
    os.utime(src, (st.st_atime, st.st_mtime))  # an editor that kept the times (the cache recompiles: the size differs)
    print("debug line:", src, "line", row + 1, "in", qualname)


def stubbed(pairs, free=lambda src: True):
    """(source, its bytes, their stubbed form, qualified name) for the first of those functions that
    gives something back and has its body on lines of its own (and whose source is `free`)."""
    found = next(((s, t, q, n, first_line(n, t[0])) for s, t, q, n in candidates(pairs)
                  if gives_back(n) and getattr(n, "end_lineno", None)  # Python >= 3.8 records where a def ends
                  and free(s) and first_line(n, t[0])), None)
    if found is None:
        sys.exit("none of the functions named gives something back from a body on lines of its own")
    src, (data, _), qualname, node, (row, first) = found
    lines = data.splitlines(keepends=True)
    indent = lines[row][: first.col_offset]
    newline = b"\r\n" if lines[row].endswith(b"\r\n") else b"\n"
    stub = [indent + b"raise NotImplementedError" + newline] + ([indent + b"yield" + newline] if is_generator(node) else [])
    lines[row:node.end_lineno] = stub
    return src, data, b"".join(lines), qualname


def patched(pairs):
    src, data, text, qualname = stubbed(pairs, free=lambda s: not os.path.exists(s + ".orig"))
    keep(src, data, src + ".orig")  # what `patch -b` keeps
    with open(src, "wb") as fh:
        fh.write(text)
    print("patched:", src, qualname, "original at", src + ".orig")


def copied(args, flat):
    """`shadowcopy DIR SRC=QUALNAME...`: a copy of the module with that stub, as DIR/<its file name>
    (an override directory a `.pth` puts first); `stagecopy DIR ...`: as DIR/<its full path>, for a
    later step to move into the module's place (a customised copy a dpkg diversion installs)."""
    dest, pairs = args[0], args[1:]
    src, _, text, qualname = stubbed(pairs)
    out = os.path.join(dest, os.path.basename(src) if flat else src.lstrip("/"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    keep(src, text, out)
    print("copy:", out, "of", src, "with a stub of", qualname)


def zipped(args):
    """`zipcopy ZIP SRC=QUALNAME...`: the stubbed module compiled, sourceless, as <name>.pyc in ZIP (an
    embeddable distribution's stdlib zip, which sys.path lists before the stdlib directory)."""
    import zipfile

    archive, pairs = args[0], args[1:]
    src, _, text, qualname = stubbed(pairs)
    entry = os.path.basename(src)[:-3] + ".pyc"
    code = compile(text, archive + "/" + entry[:-1], "exec")
    with zipfile.ZipFile(archive, "a" if zipfile.is_zipfile(archive) else "w") as z:
        z.writestr(entry, ext._code_to_timestamp_pyc(code))  # no source beside it: no mtime or size to match
    print("zipped:", archive, entry, "with a stub of", qualname)


def module_name(src):
    """The name `src` is imported under: its path below the longest sys.path entry that holds it."""
    roots = [p.rstrip("/") for p in sys.path if p and src.startswith(p.rstrip("/") + "/")]
    if not roots or not src.endswith(".py"):
        return None
    name = src[len(max(roots, key=len)) + 1:-3].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


# Methods the interpreter and the runner call for display or lookups, and whose errors they swallow:
# pytest's saferepr catches what `__repr__` raises, `hasattr` what `__getattr__` does (tinycss2: a
# signature more on webencodings' `Encoding.__repr__` broke no test, and the family was a dead end there).
SWALLOWED = {"__repr__", "__str__", "__format__", "__del__", "__getattr__", "__getattribute__", "__dir__", "__sizeof__"}


def shimmed(args):
    hook, pth, pairs = args[0], args[1], args[2:]
    routes = {}
    if os.path.exists(hook):  # an earlier step's routes stay
        with open(hook) as fh:
            routes = ast.literal_eval(next(ln for ln in fh if ln.startswith("ROUTES = "))[len("ROUTES = "):])
    found = next(((m, q) for s, t, q, n in candidates(pairs) if not n.decorator_list and n.name not in SWALLOWED
                  for m in [module_name(s)] if m and m not in routes), None)
    if found is None:
        sys.exit("none of the functions named is an undecorated function of a module not routed yet")
    module, qualname = found
    routes[module] = [qualname]
    with open(hook, "w") as fh:
        fh.write(SHIM_TEMPLATE.replace("ROUTES = {}", "ROUTES = " + repr(routes)))  # noqa: F821 (sent ahead)
    with open(pth, "w") as fh:
        fh.write("import " + os.path.basename(hook)[:-3] + "\n")
    print("routed:", module + "." + qualname, "by", hook)


NEW_KEYWORDS = ("strict", "validate", "errors", "context")


def stash_of(site, src):
    """Where pip's uninstall stash keeps `src` (a file below `site`): the top-level entry's name with
    its first character replaced by "~" (`faults.calls.stash_of` says the same)."""
    top, _, rest = src[len(site) + 1:].partition("/")
    return os.path.join(site, "~" + top[1:], rest) if rest else os.path.join(site, "~" + top[1:])


def drifted(args):
    site, pairs = args[0].rstrip("/"), args[1:]
    if not hasattr(ast, "unparse"):
        no_target("this Python has no ast.unparse to write a signature with")
    found = next(((s, t, q, n) for s, t, q, n in candidates(pairs) if s.startswith(site + "/") and n.name not in SWALLOWED
                  and own_row(n, n.body[0], t[0]) is not None and not os.path.exists(stash_of(site, s))), None)
    if found is None:
        sys.exit("none of the functions named has its body below its signature in a module not stashed yet")
    src, (data, _), qualname, node = found
    head = ast.parse(ast.unparse(node)).body[0]  # a copy
    args = head.args
    taken = {a.arg for a in args.args + args.kwonlyargs + getattr(args, "posonlyargs", []) + [args.vararg, args.kwarg] if a}
    args.kwonlyargs.append(ast.arg(arg=next(k for k in NEW_KEYWORDS if k not in taken)))
    args.kw_defaults.append(None)
    head.body, head.decorator_list = [ast.Pass()], []
    lines = data.splitlines(keepends=True)
    first = own_row(node, node.body[0], data) + 1  # the body's first row (its docstring's): the signature is above it
    newline = b"\r\n" if lines[node.lineno - 1].endswith(b"\r\n") else b"\n"
    indent = lines[node.lineno - 1][: node.col_offset]
    header = ast.unparse(head).splitlines()[0]  # "def f(a, *, strict):": one line
    lines[node.lineno - 1:first - 1] = [indent + header.encode() + newline]
    stash = stash_of(site, src)
    os.makedirs(os.path.dirname(stash), exist_ok=True)
    keep(src, data, stash)
    with open(src, "wb") as fh:
        fh.write(b"".join(lines))
    print("upgraded:", src, qualname, "takes", header, "; original at", stash)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "shim":
        shimmed(sys.argv[2:])
    elif mode == "upgraded":
        drifted(sys.argv[2:])
    elif mode in ("shadowcopy", "stagecopy"):
        copied(sys.argv[2:], flat=mode == "shadowcopy")
    elif mode == "zipcopy":
        zipped(sys.argv[2:])
    else:
        {"stale": stale, "debugline": debugline, "patched": patched}[mode](sys.argv[2:])
