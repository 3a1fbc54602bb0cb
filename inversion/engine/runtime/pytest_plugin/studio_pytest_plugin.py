"""Mounted read-only into test containers (never baked into an image) and loaded with
`-p studio_pytest_plugin`. It changes no test outcome; it only

* records each test's exact pytest node id as a JUnit property, so ids parsed from the XML are
  exactly what the runner prints,
* when STUDIO_SELECT_FILE names a file of node ids, runs only those tests, in that file's order
  (after collecting the whole suite, so an id whose module no longer imports is just missing,
  never the usage error a command-line id gives, and no command line grows with the list), and
* when STUDIO_SURFACE_OUT is set, writes the dependency surface: Python modules and shared
  libraries loaded per test file and in total, executables the tests started, the modules loaded
  before the first test file (start-up: the runner, conftests) and, per test file, what it imports
  itself (its `import` statements, read with `ast`, and the module-level imports of the project
  modules those reach, so a module an earlier file loaded first still counts; what a test
  package's `__init__.py` loads, counted for every test file below it: isodate's tests/__init__
  imports every test module, so its `pickle` fails the whole suite, not just the first file), and
* when STUDIO_CALLS_OUT is set (a run of its own: a profiler slows the suite), writes the call map
  (`studio_pytest_calls`, beside this file and imported only then), and
* when STUDIO_CURRENT_OUT is set, keeps there the id of the test now running, so a run killed for
  its memory or its time still says which test it was in.
"""

import ast
import json
import os
import sys
import time

_SURFACE_OUT = os.environ.get("STUDIO_SURFACE_OUT")
_per_file = {}
_executables = {}
_startup = []
_parsed = {}  # project file -> what it imports at load
_init_loads = {}  # directory of a package `__init__.py` -> modules first imported while it ran
_abs = {}  # test file (node id part) -> its absolute path


_CURRENT_OUT = os.environ.get("STUDIO_CURRENT_OUT")


def pytest_runtest_logstart(nodeid, location):
    if _CURRENT_OUT:
        with open(_CURRENT_OUT, "w") as fh:
            fh.write(f"{time.time():.3f} {nodeid}")


def pytest_runtest_setup(item):
    item.user_properties.append(("nodeid", item.nodeid))


def pytest_collection_modifyitems(session, config, items):
    select = os.environ.get("STUDIO_SELECT_FILE")
    if not select:
        return
    with open(select) as fh:
        order = {line.rstrip("\n"): i for i, line in enumerate(fh) if line.strip()}
    chosen = sorted((item for item in items if item.nodeid in order), key=lambda item: order[item.nodeid])
    dropped = [item for item in items if item.nodeid not in order]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = chosen


def _maps():
    libs = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 6 and ".so" in parts[5]:
                    libs.add(parts[5])
    except OSError:
        pass
    return libs


def _audit(event, args):
    if event == "subprocess.Popen":
        executable, argv = args[0], args[1]
        name = executable or (argv[0] if isinstance(argv, list | tuple) and argv else argv)
        if isinstance(name, bytes):
            name = name.decode(errors="replace")
        if isinstance(name, str) and name:
            _executables[name] = _executables.get(name, 0) + 1
    elif event == "os.system":
        command = args[0]
        if isinstance(command, bytes):
            command = command.decode(errors="replace")
        if isinstance(command, str) and command.split():
            first = command.split()[0]
            _executables[first] = _executables.get(first, 0) + 1
    elif event == "import" and isinstance(args[0], str):
        for directory in _running_inits():
            _init_loads.setdefault(directory, set()).add(args[0])


def _running_inits():
    """Directories of the package `__init__.py` files (outside the interpreter's own trees) whose
    module body is running now: an import made under one is needed by every module of its package."""
    found, frame = set(), sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "<module>" and os.path.basename(code.co_filename) == "__init__.py":
            path = code.co_filename
            if not _in_site(path) and not path.startswith((sys.prefix + os.sep, sys.base_prefix + os.sep)):
                found.add(os.path.dirname(os.path.abspath(path)))
        frame = frame.f_back
    return found


def _imports(path, package, body_only):
    """Absolute names a source file imports (with their parent packages): anywhere in a test file,
    at module level (not inside a function or class) in a project module; relative ones resolved."""
    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return set()
    found, stack = set(), list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                if not parts or node.level - 1 > len(parts):
                    continue
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base:
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)  # maybe submodules
        elif not body_only or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    out = set()
    for name in found:
        parts = name.split(".")
        out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return out


_RUNNER_PARTS = ("/_pytest/", "/pytest/", "/pluggy/", "/py/", "/iniconfig/", "/_distutils_hack/")
_STDLIB = os.path.dirname(os.__file__) + os.sep


def _followed_file(module, root):
    """The source of a project module (under the rootdir), an installed package (the project's own
    installed copy, or a dependency) or a stdlib module, never the runner's: what a test file needs
    at load reaches through them. Installed humanize: the `fractions` it imports counted only for
    the first test file that imported it, so a stale override looked partial and failed all 525
    tests; xmltodict imports `xml.sax.saxutils`, which imports `urllib.request` and through it
    `http`: blocking `http` failed all 58 tests, not only the first file's."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py") or any(part in path for part in _RUNNER_PARTS):
        return None
    if _in_site(path) or path.startswith(_STDLIB):
        return path
    if not path.startswith(root + os.sep) or path.startswith(sys.prefix + os.sep):
        return None
    return path


def _direct(names, root):
    """Loaded modules among `names`, plus, through project modules, installed packages and the
    stdlib, what those import at load (a dependency's or stdlib package's modules reached that way
    by their top-level name only, but a stdlib package loaded at start-up, whose submodules are
    aimed at by full name: a suite of 500 files importing pandas would list its 1,500 modules 500
    times)."""
    own = {n for n in names if n in sys.modules}
    seen, todo = set(), list(own)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        module = sys.modules.get(name)
        path = _followed_file(module, root)
        if path:
            if path not in _parsed:
                package = getattr(module, "__package__", None) or ""
                _parsed[path] = _imports(path, package, body_only=True)
            todo.extend(n for n in _parsed[path] if n in sys.modules and n not in seen)
    started = _startup[0] if _startup else set()  # reached and loaded at start-up: says nothing
    at_start = {n.split(".")[0] for n in started}
    return own | {n if not _by_top(n, root, at_start) else n.split(".")[0] for n in seen - own - started}


def _by_top(name, root, at_start):
    """Whether a module reached at load is listed by its top-level name: a dependency's (not the
    project's own installed copy, whose source is under the rootdir or its `src/`: humanize's
    `__init__` imports `humanize.number`, so a leftover beside it fails every test) or a stdlib
    package's not loaded at start-up."""
    path = getattr(sys.modules.get(name), "__file__", None)
    top = name.split(".")[0]
    if not isinstance(path, str):
        return False
    if path.startswith(_STDLIB) and not _in_site(path):
        return top not in at_start
    return _in_site(path) and not _project_copy(top, root)


_copies = {}  # (rootdir, top-level name) -> whether its source is there (asked once, not per test file)


def _project_copy(top, root):
    if (root, top) not in _copies:
        _copies[root, top] = any(os.path.exists(os.path.join(root, *where, top + ext))
                                 for where in ((), ("src",)) for ext in ("", ".py"))
    return _copies[root, top]


def _in_site(path):
    return "/site-packages/" in path or "/dist-packages/" in path


if os.environ.get("STUDIO_CALLS_OUT"):  # the call map: beside this file, never exported
    from studio_pytest_calls import (  # noqa: F401 (hooks pytest finds here)
        pytest_runtest_call,
        pytest_unconfigure,
    )


if _SURFACE_OUT:
    sys.addaudithook(_audit)

    import pytest

    def _attribute(path, before_mods, before_libs):
        entry = _per_file.setdefault(path, {"modules": set(), "shared_libs": set(), "imports": set()})
        entry["modules"].update(set(sys.modules) - before_mods)
        entry["shared_libs"].update(_maps() - before_libs)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(collector):
        """Imports made while collecting a test module belong to that file too."""
        before_mods, before_libs = set(sys.modules), _maps()
        is_module = type(collector).__name__ == "Module"
        if is_module and not _startup:
            _startup.append(before_mods)
        yield
        if is_module:
            _attribute(collector.nodeid.split("::")[0], before_mods, before_libs)
            source = str(getattr(collector, "path", None) or collector.fspath)
            _abs[collector.nodeid.split("::")[0]] = os.path.abspath(source)
            _per_file[collector.nodeid.split("::")[0]]["imports"].update(
                _imports(source, "", body_only=False)
            )

    def _package_loads(test_file):
        """What the `__init__.py` of a package holding `test_file` imported (still loaded)."""
        path = _abs.get(test_file)
        return {m for d, mods in _init_loads.items() if path.startswith(d + os.sep)
                for m in mods if m in sys.modules} if path else set()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        before_mods, before_libs = set(sys.modules), _maps()
        yield
        _attribute(item.nodeid.split("::")[0], before_mods, before_libs)

    def pytest_sessionfinish(session, exitstatus):
        root = str(getattr(session.config, "rootpath", None) or session.config.rootdir)  # pytest < 6.1
        modules = {}
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            modules[name] = path if isinstance(path, str) else None
        data = {
            "python": {
                "executable": sys.executable,
                "executable_link": os.readlink(sys.executable) if os.path.islink(sys.executable) else None,
                "version": sys.version.split()[0],
                "prefix": sys.prefix,
                "base_prefix": sys.base_prefix,
                "path": [p for p in sys.path if isinstance(p, str)],
            },
            "modules": modules,
            "shared_libs": sorted(_maps()),
            "executables": _executables,
            "per_file": {
                f: {
                    "modules": sorted(v["modules"] | _direct(v.get("imports", ()), root) | _package_loads(f)),
                    "shared_libs": sorted(v["shared_libs"]),
                }
                for f, v in _per_file.items()
            },
            "startup_modules": sorted(_startup[0]) if _startup else [],
        }
        with open(_SURFACE_OUT, "w") as fh:
            json.dump(data, fh)
