"""The gold's integrity manifest and the tamper-evident verifier that checks it (`verifier/verify.py`).

The manifest is taken in a pristine gold container (`collect_gold`): every file under the project,
the directories on the test interpreter's sys.path, the venv, the user site, sitecustomize's home,
the interpreter's link chain, pytest's rootdir candidates above /testbed and the shared libraries
the interpreter and its extension modules need (with where the loader's cache sends their sonames),
with content hashes,
plus the bootstrap list (the verifier's own interpreter and the modules it imports, full sha256).
After the gold's test suite ran in the same container, what it wrote is the `volatile` set.

A task's verifier (`verifier_files`) is that manifest plus the task's part (`collect_task`: the gold's
content of the directories the broken image's environment variables name), the grading command
(the same `testrun.build_command` the studio's own runs use), FAIL_TO_PASS and PASS_TO_PASS, and
`run.sh` as Harbor's `tests/test.sh` or Terminal-Bench's `run-tests.sh`. `run_verifier` runs exactly
those files in a container, as the harness would, and reads the reward and the report.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from inversion.engine.runtime import testrun, trust
from inversion.engine.runtime.grading import grading_cmd
from inversion.engine.runtime.sandbox import Sandbox

HERE = Path(__file__).resolve().parent / "verifier"
VERIFY = HERE / "verify.py"
NATIVE = HERE / "verify_native.py"
COLLECT = HERE / "collect.py"  # the studio's side (manifest, bootstrap list): never shipped
RUN = HERE / "run.sh"
PLUGIN = testrun.SUPPORT_DIR / "studio_pytest_plugin.py"
TESTS_DIR = "/tests"
RESULTS_DIR = "/logs/verifier"
ROOTDIR_CANDIDATES = ("/pytest.ini", "/pyproject.toml", "/tox.ini", "/setup.cfg", "/conftest.py")
PROBE = r"""
import json, os, site, sys
chain, path = [], sys.executable
while os.path.islink(path):
    chain.append(path)
    target = os.readlink(path)
    path = target if target.startswith("/") else os.path.normpath(os.path.join(os.path.dirname(path), target))
chain.append(path)
print(json.dumps({"path": [p for p in sys.path if p.startswith("/")], "prefix": sys.prefix,
                  "usersite": site.getusersitepackages(), "executable": sys.executable, "chain": chain,
                  "version": "%d.%d" % sys.version_info[:2]}))
"""


# The shared libraries the interpreter ($0) and every extension module under the directories given
# need, as the loader resolves them in the pristine gold: "soname path-with-its-directory-resolved
# realpath" a line (/lib is a link to usr/lib on Debian; a root must not pass through a link).
LIBS_PROBE = r"""
interp=$0
{ ldd "$interp"; for d in "$@"; do [ -d "$d" ] && find "$d" -xdev -type f -name '*.so*'; done | head -n 3000 \
  | xargs -r -d '\n' ldd; } 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) (0x.*/\1 \2/p' | sort -u \
  | while read -r name path; do
      printf '%s %s/%s %s\n' "$name" "$(readlink -f "$(dirname "$path")")" "$(basename "$path")" "$(readlink -f "$path")"
    done
"""
MAX_LIBS = 400


class IntegrityError(Exception):
    """The gold container did not answer the probe or the collector (the image is not a usable gold)."""


def _interpreter_name(test_cmd: str) -> str:
    words = shlex.split(test_cmd)
    return next((w for w in words if "=" not in w.split("/")[0]), "python")


def _probe(box: Sandbox, test_cmd: str) -> dict:
    """Where the test command's first word resolves on the gold's PATH, and (for a script such as
    `pytest`, through its shebang) the Python behind it: sys.path, prefix, user site, link chain."""
    name = _interpreter_name(test_cmd)
    found = box.exec(f"command -v {shlex.quote(name)}", timeout=30)
    resolved = found.output.strip().splitlines()[-1] if found.ok and found.output.strip() else ""
    if not resolved:
        raise IntegrityError(f"no {name!r} on the gold's PATH")
    shebang = box.exec(f"head -n1 {shlex.quote(resolved)} | sed -n 's/^#! *\\([^ ]*\\).*/\\1/p'", timeout=30)
    python = shebang.output.strip() if shebang.ok and shebang.output.strip().startswith("/") else resolved
    res = box.exec(f"cd /testbed && {shlex.quote(python)} -c {shlex.quote(PROBE)}", timeout=60)
    if not res.ok:
        raise IntegrityError(f"the test interpreter {python} does not start: {res.output[-300:]}")
    return {**json.loads(res.output.strip().splitlines()[-1]), "interpreter_name": name, "interpreter": resolved}


def _native_libs(box: Sandbox, interpreter: str, dirs: list[str]) -> tuple[list[str], list[str]]:
    """The sonames the interpreter and the extension modules under `dirs` load, and their files
    (link and target). A library Python loads lazily (libbz2 through shutil, libcrypto through
    hashlib) is outside every Python root, and a shim of one runs its constructor in pytest or in
    `verify.py` after the comparison: so the files are manifested and the cache's answer recorded."""
    res = box.exec(f"bash -c {shlex.quote(LIBS_PROBE)} {shlex.quote(interpreter)} "
                   + " ".join(shlex.quote(d) for d in dirs), timeout=300)
    rows = [line.split(" ") for line in res.output.splitlines() if res.ok and line.count(" ") == 2]
    rows = [r for r in rows if all(p.startswith("/") for p in r[1:])][:MAX_LIBS]
    return sorted({r[0] for r in rows}), sorted({p for r in rows for p in r[1:]})


def _collect(box: Sandbox, out: testrun.OutDir, roots: list[str], env: dict[str, str] | None = None,
             sonames: list[str] | None = None) -> dict:
    (out.path / "verify.py").write_text(VERIFY.read_text())
    (out.path / "verify_native.py").write_text(NATIVE.read_text())
    (out.path / "collect.py").write_text(COLLECT.read_text())
    (out.path / "collect.json").write_text(json.dumps({"roots": roots, "sonames": sonames or []}))
    mount = testrun.OUT_MOUNT
    res = box.exec(f"/usr/bin/env python3 -I -S -B {mount}/collect.py collect {mount}/collect.json {mount}/manifest.json",
                   timeout=300, env=env)
    target = out.path / "manifest.json"
    if not res.ok or not target.exists():
        raise IntegrityError(f"the manifest collector failed: {res.output[-500:]}")
    return json.loads(target.read_text())


def collect_gold(box: Sandbox, out: testrun.OutDir, test_cmd: str) -> dict:
    """The pristine gold's manifest (call before any test run in `box`)."""
    info = _probe(box, test_cmd)
    site_config = f"/etc/python{info['version']}"
    verifier_python = info["chain"][-1]
    sonames, libs = _native_libs(box, verifier_python, sorted({"/testbed", info["prefix"], *info["path"]}))
    roots = sorted({"/testbed", info["prefix"], info["usersite"], site_config, "/etc/ld.so.preload",
                    *info["path"], *info["chain"], *ROOTDIR_CANDIDATES, *libs})
    found = _collect(box, out, roots, sonames=sonames)
    res = box.exec(f"{verifier_python} -I -S -B -X pycache_prefix=/tmp/.studio-probe {testrun.OUT_MOUNT}/collect.py imports",
                   timeout=60)
    files = json.loads(res.output.strip().splitlines()[-1]) if res.ok else []
    sums = box.exec("sha256sum " + " ".join(shlex.quote(f) for f in files), timeout=60) if files else None
    if not files or sums is None or not sums.ok:
        raise IntegrityError("the verifier's bootstrap files could not be listed")
    box.exec("rm -rf /tmp/.studio-probe")
    # the toolbox the harness's `bash` and run.sh will be (`runtime.trust`), where the gold has one
    toolbox = box.exec(f"{trust.TRUST_BASH} -c 'exit 0' && {trust.TRUST_TOOLS_DIR}/sha256sum /dev/null", timeout=30).ok
    return {"roots": roots, "entries": found["entries"], "derived": found["derived"], "volatile": [],
            "volatile_dirs": [], "interpreter": info["interpreter"], "interpreter_name": info["interpreter_name"],
            "verifier_python": verifier_python, "bootstrap": sums.output.strip() + "\n",
            "loader": found.get("loader") or {}, "nss": found.get("nss") or {}, "trust": toolbox}


def add_volatile(box: Sandbox, out: testrun.OutDir, manifest: dict) -> dict:
    """After the gold's own test runs in `box`: what they wrote is exempt from the comparison."""
    after = _collect(box, out, manifest["roots"])["entries"]
    before = manifest["entries"]
    changed = sorted(p for p in after if before.get(p) != after[p])
    removed = sorted(set(before) - set(after))
    known_dirs = {str(parent) for p in before for parent in Path(p).parents}
    new_dirs = set()
    for path in changed:
        if path in before:
            continue
        top, here = "", Path(path).parent
        while str(here) not in known_dirs and str(here) != "/":
            top, here = str(here), here.parent
        if top:
            new_dirs.add(top)
    return {**manifest, "volatile": changed + removed, "volatile_dirs": sorted(new_dirs)}


def collect_task(box: Sandbox, out: testrun.OutDir, manifest: dict, env: dict[str, str]) -> dict:
    """The gold's content of what the task's environment adds to the roots (PYTHONPATH dirs, ...),
    collected in a pristine gold container with the broken image's environment variables."""
    if not env:
        return {}
    found = _collect(box, out, manifest["roots"], env=env)
    extra = {p: e for p, e in found["entries"].items() if p not in manifest["entries"]}
    derived = {p: h for p, h in found["derived"].items() if p not in manifest["derived"]}
    return {"entries": extra, "derived": derived} if extra or derived else {}


@dataclass(frozen=True)
class Grading:
    test_cmd: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    workdir: str = "/testbed"
    timeout: float = 600.0


def verifier_config(manifest: dict, task_part: dict, grading: Grading) -> dict:
    """`task_part["dirty"]` (the broken image's differences from the gold, from the nop run) turns on
    verify.py's fast walk: in the task container it reads only those and what changed since it started."""
    command = testrun.build_command(grading_cmd(grading.test_cmd), junit="{junit}", support="{support}")
    return {
        "version": 1, "roots": manifest["roots"],
        "entries": {**manifest["entries"], **(task_part.get("entries") or {})},
        "derived": {**manifest["derived"], **(task_part.get("derived") or {})},
        "volatile": manifest["volatile"], "volatile_dirs": manifest["volatile_dirs"],
        "interpreter": manifest["interpreter"], "interpreter_name": manifest["interpreter_name"],
        "verifier_python": manifest["verifier_python"], "loader": manifest.get("loader") or {},
        **({"nss": manifest["nss"]} if "nss" in manifest else {}), "grade_cmd": command, "workdir": grading.workdir, "timeout": grading.timeout,
        "fail_to_pass": sorted(grading.fail_to_pass), "pass_to_pass": sorted(grading.pass_to_pass),
        **({"dirty": sorted(task_part["dirty"])} if "dirty" in task_part else {}),
    }


def run_script(manifest: dict, mode: str) -> str:
    """`run.sh` for a harness: `harbor` (tests/test.sh, reward file) or `tb` (run-tests.sh, summary)."""
    toolbox = bool(manifest.get("trust"))  # golds collected before the toolbox: the system's shell and tools
    return (RUN.read_text().replace("@SHELL@", trust.TRUST_BASH if toolbox else "/bin/bash")
            .replace("@TOOLS@", trust.TRUST_TOOLS_DIR if toolbox else "/usr/sbin:/usr/bin:/sbin:/bin")
            .replace("@MODE@", mode).replace("@PYTHON@", manifest["verifier_python"])
            .replace("@HARNESS@", {"harbor": "Harbor tests/test.sh", "tb": "Terminal-Bench run-tests.sh"}[mode]))


def verifier_files(manifest: dict, config: dict) -> dict[str, bytes]:
    """The verifier's own files, shipped in the tests directory (names relative to it)."""
    return {
        "verify.py": VERIFY.read_bytes(),
        "verify_native.py": NATIVE.read_bytes(),
        "verifier.json": (json.dumps(config, sort_keys=True, separators=(",", ":")) + "\n").encode(),
        "bootstrap.sha256": manifest["bootstrap"].encode(),
        "studio_pytest_plugin.py": PLUGIN.read_bytes(),
    }


@dataclass
class Verdict:
    reward: int | None
    report: dict = field(default_factory=dict)
    output: str = ""
    seconds: float = 0.0
    timed_out: bool = False  # cut off by its timeout: no reward (Harbor raises VerifierTimeoutError)

    @property
    def tampered(self) -> list[str]:
        return list(self.report.get("tampered") or [])


def run_verifier(box: Sandbox, files: dict[str, bytes], script: str, *, timeout: float,
                 env: dict[str, str] | None = None) -> Verdict:
    """Copy the verifier in (as Harbor does, after the agent), run it, read its reward and report.
    `env` stands in for ENV lines of an image that was not rebuilt (tests of single faults). A run cut
    off by `timeout` has no reward, whatever the file holds (the 0 the verifier writes first, or what
    a writer it had yet to stop put there), as Harbor gives none on a verifier timeout."""
    for name, data in {**files, "test.sh": script.encode()}.items():
        box.put_file(f"{TESTS_DIR}/{name}", data, mode=0o755 if name.endswith(".sh") else 0o644)
    # as Harbor runs it: `bash -c` found on the container's PATH, the script by its own shebang
    res = box.exec(f"({TESTS_DIR}/test.sh) 2>&1", timeout=timeout, max_output=50_000, env=env, shell="bash")
    report = box.get_file(f"{RESULTS_DIR}/verdict.json")
    reward = _reward(box.get_file(f"{RESULTS_DIR}/reward.json"), box.get_file(f"{RESULTS_DIR}/reward.txt"))
    try:
        parsed = json.loads(report) if report else {}
    except ValueError:
        parsed = {}
    return Verdict(None if res.timed_out else reward, parsed, res.output, res.seconds, res.timed_out)


def _reward(as_json: bytes | None, as_text: bytes | None) -> int | None:
    """The reward as Harbor reads it: `reward.json` ({"reward": x}) wins over `reward.txt`."""
    try:
        if as_json is not None:
            value = json.loads(as_json)
            value = value.get("reward", next(iter(value.values()), None)) if isinstance(value, dict) else value
            return int(value) if value in (0, 1) else None
        return int(as_text.decode().strip()) if as_text is not None else None
    except (ValueError, TypeError, AttributeError):
        return None
