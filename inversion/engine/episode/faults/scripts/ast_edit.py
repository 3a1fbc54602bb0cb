"""Helpers the in-container scripts share (`project_break.py`, `function_edit.py`): the studio sends
this file's body ahead of the script's own in one `python -c`. No annotations: the gold's Python
may be old.
"""

import ast
import importlib._bootstrap_external as ext
import importlib.util
import os
import sys

FUNCS = (ast.FunctionDef, getattr(ast, "AsyncFunctionDef", ast.FunctionDef))
NO_TARGET = 3  # `faults.base.NO_TARGET`: this environment has nothing the family aims at


def no_target(why):
    """Fail with NO_TARGET: the step found nothing to aim at in this environment, whatever other
    faults are laid, so the agent need not try the family here again."""
    sys.stderr.write(why + "\n")
    sys.exit(NO_TARGET)


def find(tree, qualname):
    """The def of `qualname` ("function", "Class.method", "Outer.Inner.method"), walking classes by
    name; else the first def of the bare name (an old interpreter records no qualified names)."""
    body, parts = tree.body, qualname.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        node = next((n for n in body if getattr(n, "name", None) == part
                     and isinstance(n, FUNCS if last else ast.ClassDef)), None)
        if node is None:
            break
        if last:
            return node
        body = node.body
    return next((n for n in ast.walk(tree) if isinstance(n, FUNCS) and n.name == parts[-1]), None)


def gives_back(node):
    """Whether a function returns a value or yields (dropping what it returns changes nothing
    where it only ever returns None)."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Yield, ast.YieldFrom)):
            return True
        none = isinstance(sub, ast.Return) and isinstance(sub.value, ast.Constant) and sub.value.value is None
        if isinstance(sub, ast.Return) and sub.value is not None and not none:
            return True
    return False


def write_older_body(src, tree, node):
    """Give `node` (a def in `tree`, the parsed `src`) an older body that returns nothing (its
    docstring kept) and write the module's bytecode as `src`'s cache entry, stamped with its mtime and
    size, so the interpreter trusts it; returns the cache path."""
    doc = [node.body[0]] if ast.get_docstring(node) is not None else []
    node.body = doc + ast.parse("return\nyield" if is_generator(node) else "return None").body
    code = compile(ast.fix_missing_locations(tree), src, "exec")
    st = os.stat(src)
    pyc = importlib.util.cache_from_source(src)
    os.makedirs(os.path.dirname(pyc), exist_ok=True)
    with open(pyc, "wb") as fh:
        fh.write(ext._code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))
    return pyc


def is_generator(node):
    """Whether a def yields (a stub of its body must too, or it stops being a generator)."""
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(node))


def keep(src, data, path):
    """`data`, `src`'s bytes, at `path` with `src`'s mode and times (no shutil: an earlier layer may
    have damaged it, and it is fair game for one)."""
    st = os.stat(src)
    with open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, st.st_mode & 0o7777)
    os.utime(path, (st.st_atime, st.st_mtime))
