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
