"""Run in the task container with the gold's interpreter: damage one function of an installed or
standard-library module, the one the call map says some tests call and others do not.

`stale SRC=QUALNAME...`: the module's cached bytecode, stamped with the source's mtime and size (so
the interpreter trusts it), holds an older body of the first of those functions that gives something
back (an older body that returns nothing changes nothing where it never did).
`debugline SRC=QUALNAME...`: the first of those functions with a statement on a line of its own gets,
as its first line, a debugger call left from a debugging session, with a debugger this environment
never had (`import ipdb; ipdb.set_trace()`).
QUALNAME is "function", "Class.method" or "Outer.Inner.method"; where an old interpreter recorded a
bare name, the first function or method of that name. No annotations: the gold's Python may be old.
"""

import ast
import os
import sys

from ast_edit import find, gives_back, write_older_body  # the studio sends ast_edit.py's body here

DEBUG_LINE = "import ipdb; ipdb.set_trace()  # DEBUG"


def parse(src):
    with open(src, "rb") as fh:
        data = fh.read()
    return data, ast.parse(data)


def candidates(pairs):
    """(source, its tree, qualified name, def) for each SRC=QUALNAME given that is found, in order."""
    trees = {}
    for pair in pairs:
        src, _, qualname = pair.partition("=")
        if src not in trees:
            trees[src] = parse(src)
        node = find(trees[src][1], qualname)
        if node is not None:
            yield src, trees[src], qualname, node


def stale(pairs):
    found = next(((s, t, q, n) for s, t, q, n in candidates(pairs) if gives_back(n)), None)
    if found is None:
        sys.exit("none of the functions named gives anything back")
    src, (_, tree), qualname, node = found
    pyc = write_older_body(src, tree, node)
    print("stale:", pyc, "holds an older", qualname)


def first_line(node, data):
    """(row from 0, first statement) where the line goes, or None: only a docstring, or a body on a
    line with other code: the `def` line, or the last line of a signature split over several
    (itsdangerous's overload stubs, `) -> bytes: ...`: a line put before it broke the syntax, and the
    repair, which removes lines that are only the debugger call, could not take it out)."""
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    if not body:
        return None
    first = body[0]
    row = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])]) - 1
    if first.col_offset == 0 or row <= node.lineno - 1:
        return None
    lines = data.splitlines()
    return (row, first) if row < len(lines) and not lines[row][: first.col_offset].strip() else None


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


if __name__ == "__main__":
    if sys.argv[1] == "stale":
        stale(sys.argv[2:])
    else:
        debugline(sys.argv[2:])
