"""The two call-time families that leave a function's body alone: an interrupted upgrade gives it
another signature, a start-up shim reroutes it. What their in-container steps do to real files and
a real interpreter (the local one), and that their repairs give the gold's bytes back."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import types

from inversion.engine.episode.faults import PlanContext, calls, family, shims
from inversion.engine.episode.faults.base import script_body
from tests.support.faults_fixture import SURFACE


def _script():
    """function_edit.py as sent (shared helpers inlined), with the shim's template sent ahead."""
    module = types.ModuleType("function_edit")
    module.SHIM_TEMPLATE = (calls.base.SCRIPTS / "compat_shim.py").read_text()
    exec(compile(script_body("function_edit.py"), "function_edit.py", "exec"), module.__dict__)
    return module


def _ctx(site, rows):
    python = {**SURFACE["python"], "site_packages": [str(site)], "executable": sys.executable}
    return PlanContext({**SURFACE, "python": python, "calls": {"tests": 4, "functions": rows}}, {})


def _row(site, module, function):
    return {"module": module, "function": function, "tests": 2, "file": str(site / (module.replace(".", "/") + ".py"))}


def _python(site, code):
    """`code` run by a fresh interpreter that processes `site` as a site directory (its .pth files)."""
    boot = f"import site, sys; site.addsitedir({str(site)!r}); sys.path.insert(0, {str(site)!r})\n"
    return subprocess.run([sys.executable, "-B", "-c", boot + code], capture_output=True, text=True, cwd=site)


LIB = (b"class Reader:\n    def __repr__(self):\n        return 'Reader()'\n\n    def read(self, data,\n             size=-1):  # keep: a comment the upgrade drops\n"
       b'        """Read."""\n        return data[:size]\n\n\n'
       b"def total(v, *, strict=False):\n    return sum(v)\n")


def test_an_interrupted_upgrade_gives_one_function_a_required_keyword_and_the_stash_gives_the_bytes_back(tmp_path):
    """`upgraded` rewrites one signature (a split one, its comment dropped: what ast.unparse writes),
    adds a keyword the function does not have yet, keeps the original in pip's `~` stash with its
    times, and passes over a module already stashed; the family's repair restores the file byte for
    byte and leaves no stash."""
    site = tmp_path / "site-packages"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "__init__.py").write_text("")
    src = site / "pkg" / "reader.py"
    src.write_bytes(LIB)
    os.utime(src, (1_600_000_000, 1_600_000_000))
    odd = site / "pkg" / "odd.py"
    odd.write_text("def tail(a,\n         b): return a\n\n\ndef many(*strict, **validate):\n    return strict\n")
    script = _script()
    script.drifted([str(site), f"{odd}=tail", f"{odd}=many"])  # tail's body shares its signature's last row
    assert odd.read_text() == "def tail(a,\n         b): return a\n\n\ndef many(*strict, errors, **validate):\n    return strict\n"
    script.drifted([str(site), f"{src}=Reader.__repr__", f"{src}=Reader.read", f"{src}=total"])  # saferepr swallows
    stash = site / "~kg" / "reader.py"
    assert stash.read_bytes() == LIB and os.stat(stash).st_mtime == 1_600_000_000
    text = src.read_text()
    assert "    def read(self, data, size=-1, *, strict):\n        \"\"\"Read.\"\"\"" in text and "keep:" not in text
    assert "def total(v, *, strict=False):" in text
    out = _python(site, "import pkg.reader as r\nprint(r.total([1]))\nr.Reader().read('abc', 2)")
    assert out.stdout.strip() == "1" and "missing 1 required keyword-only argument: 'strict'" in out.stderr
    out = _python(site, "import pkg.reader as r\nprint(r.Reader().read('abc', 2, strict=True))")
    assert out.stdout.strip() == "ab"  # the body is the old release's
    again = subprocess.run([sys.executable, "-c", script_body("function_edit.py"), "upgraded", str(site), f"{src}=total"],
                           capture_output=True, text=True)
    assert again.returncode != 0 and stash.read_bytes() == LIB  # stashed already: not this module again
    plan = family("upgrade_interrupted_signature")._plan(
        _ctx(site, [_row(site, "pkg.reader", "total"), _row(site, "pkg.odd", "many")]), random.Random(0), count=2)
    subprocess.run(["bash", "-c", plan.repair], check=True)
    assert src.read_bytes() == LIB and not (site / "~kg").exists() and "def many(*strict, **validate)" in odd.read_text()


def test_a_shim_reroutes_one_undecorated_function_after_its_module_loads_and_the_repair_removes_it(tmp_path, monkeypatch):
    """`shim` passes over a decorated function, routes the next (a method) in a module the .pth's
    shim patches as it loads, leaves the source untouched, adds a second module's route to the same
    shim, and the family's repair leaves site-packages as it was."""
    site = tmp_path / "site-packages"
    site.mkdir()
    src, other = site / "libr.py", site / "libq.py"
    src.write_bytes(b"import functools\n\n\n@functools.lru_cache()\ndef cached():\n    return 1\n\n\n" + LIB)
    other.write_text("def ping():\n    return 'pong'\n")
    before = sorted(os.listdir(site))
    hook, pth = site / "site_speedups.py", site / "site-speedups.pth"
    script = _script()
    script.module_name = lambda path: os.path.basename(path)[:-3]  # this interpreter's sys.path lacks `site`
    script.shimmed([str(hook), str(pth), f"{src}=cached", f"{src}=Reader.__repr__", f"{src}=Reader.read"])
    script.shimmed([str(hook), str(pth), f"{src}=total", f"{other}=ping"])  # libr is routed already
    assert src.read_bytes().endswith(LIB) and pth.read_text() == "import site_speedups\n"
    out = _python(site, "import libr, libq\nprint(libr.cached(), libr.total([2]))\n"
                        "for f in (lambda: libr.Reader().read('ab'), libq.ping):\n"
                        "    try:\n        f()\n    except AttributeError as e:\n        print(e)")
    assert out.stdout.splitlines() == ["1 2", "module 'libr' has no attribute '_speedups_read'",
                                       "module 'libq' has no attribute '_speedups_ping'"], out.stderr
    monkeypatch.setattr(shims, "NAMES", ("site_speedups",))
    plan = family("compat_shim_reroutes_call")._plan(_ctx(site, [_row(site, "libr", "total")]), random.Random(0), count=1)
    subprocess.run(["bash", "-c", plan.repair], check=True)
    assert sorted(os.listdir(site)) == before
