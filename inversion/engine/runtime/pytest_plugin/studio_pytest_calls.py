"""The call map, for `studio_pytest_plugin` (which imports it only when STUDIO_CALLS_OUT is set: a run of
its own, at gold build, since a profiler slows the suite; never in an exported verifier): which
functions of installed and standard-library modules each test calls (how many tests call each),
leaving out any function called outside a test (at import, by the runner between tests, or by the
runner's own start-up, asked of a fresh interpreter), whether each ever gave back a value (`gives`:
an edit that drops what a function returns needs one), and for each top-level module how many
tests called any of its functions (where not all did)."""

import ast
import atexit
import json
import os
import sys

_CALLS_OUT = os.environ.get("STUDIO_CALLS_OUT")
_calls = {}  # (file, qualified name) -> how many tests called it; "" -> how many tests ran
_wanted = {}  # file -> whether it is a module of interest (cached per file)
_now = [set()]  # the calls of the test now running, or the set of calls made outside any test
_module_tests = {}  # top-level module -> how many tests called any of its functions
_top_of = {}  # file -> top-level module name (None: no module has that file)
_outside = _now[0]
_gives = set()  # (file, qualified name) of functions that gave back something other than None (or yielded)
_SKIP_PARTS = ("/_pytest/", "/pluggy/", "/py/", "/iniconfig/", "studio_pytest_plugin", "studio_pytest_calls", "/_distutils_hack/")


def _interesting(path):
    keep = (path.endswith(".py") and path.startswith(("/usr/lib/python", "/usr/local/lib/python", sys.base_prefix + "/lib/python",
                                                      sys.prefix + "/lib/python"))
            and not any(part in path for part in _SKIP_PARTS) and "/testbed/" not in path)
    _wanted[path] = keep
    return keep


def _top(path):
    """The top-level name of the module whose file `path` is (looked up in sys.modules on a miss)."""
    if path not in _top_of:
        for name, module in list(sys.modules.items()):
            f = getattr(module, "__file__", None)
            if isinstance(f, str) and f not in _top_of:
                _top_of[f] = name.split(".")[0]
        _top_of.setdefault(path, None)
    return _top_of[path]


def _profile(frame, event, arg):
    if event != "call" and (event != "return" or arg is None):
        return
    code = frame.f_code
    path = code.co_filename
    keep = _wanted.get(path)
    if keep is None:
        keep = _interesting(path)
    if keep:
        key = (path, getattr(code, "co_qualname", code.co_name))
        if event == "call":
            _now[0].add(key)
        else:
            _gives.add(key)


def _replay_runner_start():
    """Build and use a command-line parser as pytest did before this plugin loaded (and so before the
    profiler ran), so that what it calls counts as called outside any test: argparse's constructor,
    the help formatter it checks each option with, gettext and locale.normalize behind its strings.
    On semver, whose CLI tests use argparse, those were call-map targets, and a stale cache or a
    debugger line in any of them failed every test instead of the 14 CLI ones. Best effort: pytest's
    own `Parser` (a private API) where it has one, else a plain argparse parser."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from _pytest.config.argparsing import Parser

            try:
                parser = Parser(usage="%(prog)s [options]", _ispytest=True)
            except TypeError:  # before pytest 7
                parser = Parser(usage="%(prog)s [options]")
            group = parser.getgroup("general")
            group.addoption("--studio-flag", action="store_true", help="replayed")
            group.addoption("--studio-list", action="append", default=[], help="replayed")
            parser.parse_known_args(["--studio-flag", "--studio-list=a", "x"])
        except Exception:
            import argparse

            plain = argparse.ArgumentParser(prog="pytest", usage="%(prog)s [options]", add_help=False)
            plain.add_argument_group("general").add_argument("--studio-flag", action="store_true", help="replayed")
            plain.parse_known_args(["--studio-flag", "x"])


# Run in a fresh interpreter: the profiler is set before pytest is imported, so it sees what the
# runner calls on its own from its first line (faults/scripts/function_edit.py asks the same in the
# episode container, where this plugin is not mounted).
_RUNNER_PROBE = (
    "import os, sys\n"
    "want, seen = set(sys.argv[1:]), set()\n"
    "def hook(frame, event, arg):\n"
    "    if event == 'call' and frame.f_code.co_filename in want:\n"
    "        seen.add((frame.f_code.co_filename, frame.f_code.co_name))\n"
    "sys.setprofile(hook)\n"
    "try:\n"
    "    import pytest\n"
    "    pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', os.getcwd()])\n"
    "finally:\n"
    "    sys.setprofile(None)\n"
    "    print('\\nRUNNER-CALLS ' + repr(sorted(seen)))\n"
)


def _runner_calls(files):
    """(file, function name) of `files`' functions pytest calls on its own, before any plugin loads
    (the profiler here starts later): xmltodict's two tests calling `textwrap.dedent` made it a call-map
    target, and every edit aimed there refused it, as pytest's start-up calls it. Best effort."""
    import subprocess
    import tempfile

    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDIO_")}  # no second call map
    try:
        with tempfile.TemporaryDirectory() as where:
            out = subprocess.run([sys.executable, "-B", "-c", _RUNNER_PROBE, *sorted(files)], cwd=where, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120).stdout
        line = [ln for ln in out.decode("utf-8", "replace").splitlines() if ln.startswith("RUNNER-CALLS ")][-1]
        return set(ast.literal_eval(line[len("RUNNER-CALLS "):]))
    except Exception:
        return set()


if _CALLS_OUT:
    import pytest as _pytest_for_calls

    sys.setprofile(_profile)
    atexit.register(sys.setprofile, None)  # a run that never reaches unconfigure (a usage error)
    _replay_runner_start()

    @_pytest_for_calls.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):
        _now[0] = mine = set()
        try:
            yield
        finally:
            _now[0] = _outside
            for key in mine:
                _calls[key] = _calls.get(key, 0) + 1
            _calls[""] = _calls.get("", 0) + 1
            for top in {_top(path) for path, _ in mine} - {None}:
                _module_tests[top] = _module_tests.get(top, 0) + 1

    def pytest_unconfigure(config):
        sys.setprofile(None)
        files = {}
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                files.setdefault(path, name)
        tests = _calls.pop("", 0)
        kept = {(path, qual): n for (path, qual), n in _calls.items()
                if (path, qual) not in _outside and path in files and n < tests and "<" not in qual}
        runner = _runner_calls({path for path, _ in kept})
        functions = [{"module": files[path], "file": path, "function": qual, "tests": n, "gives": (path, qual) in _gives}
                     for (path, qual), n in kept.items() if (path, qual.rpartition(".")[2]) not in runner]
        with open(_CALLS_OUT, "w") as fh:
            modules = {top: n for top, n in _module_tests.items() if n < tests}
            json.dump({"tests": tests, "functions": functions, "modules": modules}, fh)
