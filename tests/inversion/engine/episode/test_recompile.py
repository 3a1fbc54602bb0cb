"""The repairs' bytecode rewrite (`faults.base.recompile`): run for real on this machine's Python."""

from __future__ import annotations

import marshal
import subprocess
import sys
from pathlib import Path

from inversion.engine.episode.faults.base import recompile
from inversion.engine.runtime.verifier import verify


def _stale_cache(src: Path) -> Path:
    """A cache entry of `src` that holds another body, valid for the source's mtime and size (what the
    stale-bytecode families lay)."""
    subprocess.run([sys.executable, "-m", "py_compile", str(src)], check=True)
    pyc = next((src.parent / "__pycache__").glob(f"{src.stem}.*.pyc"))
    other = compile("def f():\n    return None\n", str(src), "exec")
    pyc.write_bytes(pyc.read_bytes()[:16] + marshal.dumps(other))
    return pyc


def test_recompile_rewrites_a_stale_cache_with_the_sources_code(tmp_path):
    src = tmp_path / "pkg dir" / "mod.py"
    src.parent.mkdir()
    src.write_text("def f():\n    return 42\n")
    pyc = _stale_cache(src)
    assert verify._stale(str(pyc))
    line = recompile(sys.executable, f"'{src}'")
    assert "\n" not in line  # repairs are combined line by line (`FaultPlan.repair_lines`)
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert not verify._stale(str(pyc))
    run = subprocess.run([sys.executable, "-c", "import mod; print(mod.f())"], cwd=src.parent,
                         capture_output=True, text=True)
    assert run.stdout.strip() == "42"


def test_recompile_fails_loudly_on_a_missing_source(tmp_path):
    """As `compileall` did: an oracle whose source is gone must not pass silently."""
    out = subprocess.run(["bash", "-c", recompile(sys.executable, str(tmp_path / "gone.py"))],
                         capture_output=True, text=True)
    assert out.returncode != 0


def _imported(*args: str) -> set[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")} - {"package"}


def test_recompile_imports_nothing_the_interpreter_does_not_load_at_start_up(tmp_path):
    """Every stdlib module may be another layer's target (simplejson: `py_compile` re-encoded as
    UTF-16 crashed the recompile in every other repair and in the oracle), so the repair loads no
    module beyond what the interpreter loads at start-up (`os` and the like, which the stdlib families
    never aim at: they are in every run's start-up record)."""
    src = tmp_path / "mod.py"
    src.write_text("def f():\n    return 42\n")
    _stale_cache(src)
    bare = _imported("-I", "-c", "pass")
    line = recompile(sys.executable, f"'{src}'").replace(f"{sys.executable} ", f"{sys.executable} -X importtime ", 1)
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    loaded = {ln.split("|")[-1].strip() for ln in out.stderr.splitlines() if ln.startswith("import time:")} - {"package"}
    assert loaded - bare == set()
    assert "py_compile" not in loaded
