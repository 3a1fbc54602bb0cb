"""The studio's side of the verifier, run in a pristine gold container next to `verify.py` (never
shipped): `collect CONFIG OUT` writes the manifest of CONFIG's roots, `imports` prints the files
`verify.py` loads (modules and shared libraries: the bootstrap list `run.sh` checks).

    python3 -I -S -B collect.py collect CONFIG OUT
    python3 -I -S -B collect.py imports

Its own imports are `verify.py`'s (json, os, sys), so what it has loaded is what `verify.py` loads.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's directory out
import verify  # noqa: E402


def collect(config_path: str, out_path: str) -> None:
    config = json.loads(verify._read(config_path))
    entries, derived = verify.walk(verify.roots_of(config, dict(os.environ)))
    native = verify._native()["gold_state"](verify._read, verify._regular, config.get("sonames") or [])
    verify._write(out_path, json.dumps({"entries": entries, "derived": derived, **native}, sort_keys=True))


def imports() -> None:
    """The files this program has loaded (modules and shared libraries), for bootstrap.sha256."""
    files = {m.__file__ for name, m in list(sys.modules.items())
             if name not in ("__main__", "verify") and isinstance(getattr(m, "__file__", None), str)}
    mapped = [line.split() for line in verify._read("/proc/self/maps").decode().splitlines()]
    files.update(p[5] for p in mapped if len(p) >= 6 and p[5].startswith("/") and ".so" in p[5])
    files.add(os.path.realpath(sys.executable))
    # The gold's cached bytecode of those modules: run.sh lets the interpreter read it (instead of
    # compiling every module into a private directory, a tenth of a second) only when every one of
    # these is intact, so all or none are listed.
    tag = sys.implementation.cache_tag
    cached = [os.path.join(os.path.dirname(f), "__pycache__", os.path.basename(f)[:-3] + f".{tag}.pyc")
              for f in files if f.endswith(".py")]
    if tag and cached and all(os.path.isfile(c) for c in cached):
        files.update(cached)
    print(json.dumps(sorted(os.path.realpath(f) for f in files if os.path.isfile(f))))


def main(argv: list[str]) -> int:
    if argv[:1] == ["collect"] and len(argv) == 3:
        collect(argv[1], argv[2])
    elif argv == ["imports"]:
        imports()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
