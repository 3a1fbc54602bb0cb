"""Task Studio's tamper-evident verifier: grades an environment-repair task only if the project and the
Python environment that runs its tests end exactly as in the gold environment.

Shipped in every exported task's tests directory (the agent never sees it) and run by `run.sh` with
the gold's interpreter (`-I -S -B`) once `bootstrap.sha256` has checked it and this file's imports.

    (collect.py, beside it in the studio only: the gold's manifest and the bootstrap list)
    verify.py check CONFIG ENVFILE REWARD REPORT [--tb] [--since=EPOCH] [--shell=BASH]
                                   compare, then grade with the gold's test command; REWARD gets 1 or 0;
                                   --since: the container's start (run.sh), for the fast walk;
                                   --shell: the bash the test command runs in (run.sh's own)

What `check` compares (entries "f:<sha256/16>:<x or ->", "l:<link target>", "s:<special>"): every
file, link and special file under the roots (the project, the gold interpreter's sys.path, venv, user
site, sitecustomize's home, interpreter link chain, pytest's rootdir candidates, /etc/ld.so.preload,
the shared libraries the interpreter and the extension modules need, the directories the task's
environment names), and (verify_native.py) the loader cache's entries for those libraries and the
NSS modules /etc/nsswitch.conf would load. Any difference fails the run,
a line each ("tampered: /testbed/pytest.py added"); what the gold's own test run wrote is exempt
unless it could run code; a __pycache__ .pyc that differs must compile from its source to the same
code. The grade comes from JUnit XML at a private path: every FAIL_TO_PASS and PASS_TO_PASS passes.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import stat
import sys
import threading
import time

VERSION = 1
HASH_HEX = 16
SKIP_NAMES = {".pytest_cache"}
RUNNABLE = (".py", ".pth", ".so", ".pyc", ".pyz", ".egg-link", ".ini", ".cfg", ".toml")
ENV_DIRS = ("PYTHONPATH", "LD_LIBRARY_PATH")
ENV_FILES = ("LD_PRELOAD",)
# Never follow a link, never block on a FIFO an agent planted, never leak a descriptor to the tests.
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


# ---- walking -------------------------------------------------------------------------------------

def _entry(path: str, st: os.stat_result) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "l:" + os.readlink(path)
    found = _regular(path) if stat.S_ISREG(st.st_mode) else None
    return f"f:{found[0]}:{'x' if found[1] & 0o111 else '-'}" if found else f"s:{stat.S_IFMT(st.st_mode):o}"


def _regular(path: str) -> tuple[str, int] | None:
    """(hash, mode) of a regular file through one descriptor (no lstat, no buffered reader: most of
    a walk is thousands of small files); None when `path` is not a readable regular file by then."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()[:HASH_HEX], st.st_mode
    finally:
        os.close(fd)


def _derived(path: str) -> bool:
    return path.endswith(".pyc") and os.path.basename(os.path.dirname(path)) == "__pycache__"


def _hash_all(paths: list[str]) -> list[tuple[str, int] | None]:
    """`_regular` of every path, on as many threads as cores (up to 4): opening, reading and hashing
    release the interpreter lock, and hashing the project and the environment is most of a check."""
    results: list[tuple[str, int] | None] = [None] * len(paths)
    workers = max(1, min(4, os.cpu_count() or 1))

    def work(first: int) -> None:
        for i in range(first, len(paths), workers):
            results[i] = _regular(paths[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, workers)]
    for thread in threads:
        thread.start()
    work(0)
    for thread in threads:
        thread.join()
    return results


def _fresh(entry: os.DirEntry | str, since: float) -> bool:
    """The inode changed at or after `since` (unknown counts as changed)."""
    try:
        st = os.lstat(entry) if isinstance(entry, str) else entry.stat(follow_symlinks=False)
        return st.st_ctime >= since
    except OSError:
        return True


def _fresh_root(root: str, since: float) -> bool:
    """A root, or a directory above it (a swapped-in ancestor), changed since `since`; / cannot be."""
    while root not in ("/", ""):
        if _fresh(root, since):
            return True
        root = os.path.dirname(root)
    return False


def _moves_copy(roots: list[str]) -> bool:
    """No directory of the image can be renamed, only copied (its files then all new): / is an overlay
    without redirect_dir (a lower directory's rename fails, `mv` copies) and no other mount is on or
    above a root or inside one."""
    try:
        mounts = [line.split()[1:4] for line in _read("/proc/self/mounts").decode().splitlines()]
        redirect = _read("/sys/module/overlay/parameters/redirect_dir").strip() != b"N"
    except (OSError, ValueError):
        return False
    top = [m for m in mounts if m[0] == "/"][-1:]
    if not top or top[0][1] != "overlay" or "redirect_dir=on" in top[0][2] or (redirect and "redirect_dir=" not in top[0][2]):
        return False
    inside = [m[0] for m in mounts if m[0] != "/"]
    return not any(r == m or r.startswith(m + "/") or m.startswith(r + "/") for r in roots for m in inside)


def walk(roots: list[str], since: float | None = None,
         known: dict | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(entries, derived pyc hashes) of every root; a root may be a file, a link, a tree or absent.

    Fast mode (`since` and `known`, a config with its `dirty` list: in a task container, `since` a
    moment before it started): a regular file is taken as `known` records it, unread, when its inode
    and every directory's above it up to its root (moved trees keep their files' ctimes; not needed
    where `_moves_copy`) changed before `since` and `dirty` (the broken image's differences from the
    gold) does not list it. Linux sets ctime to the present on every write, chmod, chown, link,
    unlink, rename (the moved inode too) and utimes, overlayfs copies a changed lower file up into a
    new inode, and no one in the container can set the clock back (run.sh checks the capabilities)."""
    entries: dict[str, str] = {}
    derived: dict[str, str] = {}
    files: list[str] = []
    others: list[str] = []
    stack: list[tuple[str, bool]] = []
    fast = since is not None and known is not None and "dirty" in known
    want, want_derived = (known["entries"], known["derived"]) if fast else ({}, {})
    dirty = set(known["dirty"]) if fast else set()
    moves = fast and not _moves_copy(roots)
    for root in roots:
        try:
            st = os.lstat(root)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            stack.append((root, not fast or (moves and _fresh_root(root, since))))
        elif fast and stat.S_ISREG(st.st_mode) and want.get(root, "").startswith("f:") \
                and root not in dirty and not (_fresh_root if moves else _fresh)(root, since):
            entries[root] = want[root]  # the interpreter's binary: 6 MB not read again
        else:
            others.append(root)
    seen = set()
    while stack:
        here, fresh = stack.pop()
        if here in seen:
            continue
        seen.add(here)
        try:
            children = list(os.scandir(here))
        except OSError:
            continue
        for child in children:
            if child.name in SKIP_NAMES:
                continue
            try:  # the directory entry's own type: no system call
                if child.is_dir(follow_symlinks=False):
                    stack.append((child.path, fresh or (moves and _fresh(child, since))))
                elif not child.is_file(follow_symlinks=False):
                    others.append(child.path)
                elif fresh or child.path in dirty or _fresh(child, since):
                    files.append(child.path)
                elif want.get(child.path, "").startswith("f:"):
                    entries[child.path] = want[child.path]
                elif child.path in want_derived:
                    derived[child.path] = want_derived[child.path]
                else:
                    files.append(child.path)
            except OSError:
                continue
    for path, found in zip(files, _hash_all(files), strict=True):
        if found is None:  # no longer a regular file (or unreadable): recorded as whatever it is now
            others.append(path)
        elif _derived(path):
            derived[path] = found[0]
        else:
            entries[path] = f"f:{found[0]}:{'x' if found[1] & 0o111 else '-'}"
    for path in others:
        try:
            st = os.lstat(path)
            entries[path] = "s:40000" if stat.S_ISDIR(st.st_mode) else _entry(path, st)  # a swapped-in dir
        except OSError:
            continue
    return entries, derived


def roots_of(config: dict, env: dict[str, str]) -> list[str]:
    """The manifest's roots plus the directories and files the task's environment names."""
    roots = list(config["roots"])
    for name in ENV_DIRS:
        roots += [p for p in env.get(name, "").split(":") if p.startswith("/")]
    for name in ENV_FILES:
        roots += [p for p in env.get(name, "").replace(" ", ":").split(":") if p.startswith("/")]
    out, seen = [], set()
    for root in sorted(set(map(os.path.normpath, roots))):
        if not any(root.startswith(s + "/") for s in seen):
            out.append(root)
            seen.add(root)
    return out


def _native() -> dict:
    """`verify_native.py` from beside this file, run rather than imported (its docstring says why)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verify_native.py")
    space = {"__name__": "verify_native", "__file__": path}
    exec(compile(_read(path), path, "exec"), space)
    return space


# ---- check (in the task container, after the agent) ------------------------------------------------

def _stale(pyc: str) -> bool:
    """True when a cached .pyc does not hold the code of its source (a source-less one never loads)."""
    directory, name = os.path.split(pyc)
    source = os.path.join(os.path.dirname(directory), name.split(".")[0] + ".py")
    if not os.path.isfile(source):
        return False
    try:
        cached = marshal.loads(_read(pyc)[16:])
        optimize = 0
        for part in os.path.basename(pyc).split("."):
            if part.startswith("opt-") and part[4:].isdigit():
                optimize = int(part[4:])
        fresh = compile(_read(source), source, "exec", dont_inherit=True, optimize=optimize)
    except Exception:  # unreadable or not bytecode: it cannot be the source's code
        return True
    return cached != fresh


def _volatile(path: str, config: dict) -> bool:
    if path.endswith(RUNNABLE) or os.path.basename(path) == "conftest.py":
        return False
    return path in config["volatile"] or any(path.startswith(d + "/") for d in config["volatile_dirs"])


def differences(config: dict, walked: tuple[dict[str, str], dict[str, str]]) -> dict[str, str]:
    """Every path that is not as in the gold (volatile ones aside): added, removed, changed or, for a
    cached .pyc, derived. The nop's list is a task's `dirty` list, the fast walk's always-read paths."""
    (want, want_derived), (have, have_derived) = (config["entries"], config["derived"]), walked
    found = {p: "removed" for p in set(want) - set(have)}
    found.update({p: "added" if p not in want else "changed" for p in have if have[p] != want.get(p)})
    found = {p: kind for p, kind in found.items() if not _volatile(p, config)}
    found.update({p: "derived" for p in have_derived if want_derived.get(p) != have_derived[p]})
    return found


def compare(config: dict, env: dict[str, str], walked: tuple[dict[str, str], dict[str, str]] | None = None,
            found: dict[str, str] | None = None) -> list[str]:
    """One line per difference from the gold (empty: the environment is the gold's, bytecode aside).
    `walked` / `found`: the roots' walk or its `differences` when the caller has them already."""
    found = found if found is not None else differences(config, walked or walk(roots_of(config, env)))
    lines = _native()["lines"](_read, _regular, config)  # the loader's cache, NSS modules
    lines += [f"tampered: {p} {found[p]}" for p in sorted(found, key=lambda p: (found[p] != "removed", p))
              if found[p] != "derived"]
    for path in sorted(p for p, kind in found.items() if kind == "derived"):
        if "-pytest-" not in os.path.basename(path) and _stale(path):
            lines.append(f"tampered: {path} is bytecode that does not match its source")
    interpreter = _which(config["interpreter_name"], env.get("PATH", ""))
    if interpreter != config["interpreter"]:
        lines.append(f"tampered: the test interpreter is {interpreter or 'missing'} (was {config['interpreter']})")
    return lines


def _which(name: str, path: str) -> str:
    candidates = (os.path.join(directory or ".", name) for directory in path.split(":"))
    return name if "/" in name else next((c for c in candidates if os.path.isfile(c) and os.access(c, os.X_OK)), "")


def _drop_rewritten_bytecode(derived: dict[str, str]) -> None:
    """pytest's assertion-rewritten .pyc files are derived and unverifiable: gone, they are rebuilt."""
    for path in derived:
        if "-pytest-" in os.path.basename(path) and os.path.isfile(path):
            os.unlink(path)


def _outcomes(junit: str) -> dict[str, str]:
    import xml.etree.ElementTree as ET  # after the comparison, which checked the stdlib it loads from

    outcomes: dict[str, str] = {}
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return outcomes
    for case in root.iter("testcase"):
        node = [p.get("value") for p in case.iter("property") if p.get("name") == "nodeid"]
        if not node:
            continue
        tags = [t for t in ("failure", "error", "skipped") if case.find(t) is not None]
        outcome = {"failure": "failed"}.get(tags[0], tags[0]) if tags else "passed"
        if outcomes.get(node[0]) not in ("failed", "error"):
            outcomes[node[0]] = outcome
    return outcomes


def grade(config: dict, env: dict[str, str], private: str, shell: str = "/bin/bash") -> dict[str, str]:
    import subprocess  # after the comparison, like every import the start-up does not need

    junit = os.path.join(private, "junit.xml")
    command = config["grade_cmd"].replace("{junit}", junit).replace("{support}", private)
    plugin = os.path.join(os.path.dirname(os.path.abspath(__file__)), "studio_pytest_plugin.py")
    _write(os.path.join(private, "studio_pytest_plugin.py"), _read(plugin).decode())
    with open(os.path.join(private, "pytest.log"), "wb") as log:
        try:
            subprocess.run([shell, "-c", command], cwd=config["workdir"], env=env, stdout=log,
                           stderr=subprocess.STDOUT, timeout=config["timeout"])
        except subprocess.TimeoutExpired:
            log.write(b"\n[verifier: the test run exceeded its timeout]\n")
    return _outcomes(junit)


def check(config_path: str, env_path: str, reward_path: str, report_path: str, tb: bool,
          since: float | None = None, shell: str = "/bin/bash") -> int:
    config = json.loads(_read(config_path))
    raw = _read(env_path).split(b"\0")
    env = dict(item.decode("utf-8", "surrogateescape").split("=", 1) for item in raw if b"=" in item)
    graded = config["fail_to_pass"] + config["pass_to_pass"]
    started = time.monotonic()
    walked = walk(roots_of(config, env), since, config)  # once: comparison and bytecode clean-up share it
    found = differences(config, walked)
    report = {"version": VERSION, "tampered": compare(config, env, found=found), "tests": {}, "reward": 0,
              "seconds": {}, "bytecode": "gold" if sys.pycache_prefix is None else "compiled",  # run.sh's choice
              "walk": "fast" if since is not None and "dirty" in config else "full", "differs": sorted(found)}
    report["seconds"]["compare"] = round(time.monotonic() - started, 3)
    if not report["tampered"]:
        import tempfile

        _drop_rewritten_bytecode(walked[1])
        private = tempfile.mkdtemp(prefix=".studio-grade-")
        started = time.monotonic()
        outcomes = grade(config, env, private, shell)
        report["seconds"]["grade"] = round(time.monotonic() - started, 3)
        report["tests"] = {t: outcomes.get(t, "missing") for t in graded}
        report["reward"] = int(all(o == "passed" for o in report["tests"].values()))
    for line in report["tampered"][:50]:
        print(line)
    failing = [t for t, o in report["tests"].items() if o != "passed"]
    print(f"graded {len(graded)} tests: {len(graded) - len(failing)} passed" if report["tests"] else
          "not graded: the environment differs from the gold")
    if tb:
        _tb_summary(report, failing)
    _write(report_path, json.dumps(report, indent=1, sort_keys=True))
    _write(reward_path, f"{report['reward']}\n")  # last: nothing after this changes the grade
    return 0


def _tb_summary(report: dict, failing: list[str]) -> None:
    """Terminal-Bench parses pytest's short summary: one verdict line it cannot read as passing."""
    print("=" * 20 + " short test summary info " + "=" * 20)
    for test, outcome in report["tests"].items():
        print(f"{'PASSED' if outcome == 'passed' else 'FAILED'} {test}")
    verdict = "PASSED" if report["reward"] == 1 else "FAILED"
    reason = (report["tampered"] or [f"{len(failing)} graded tests do not pass"])[0] if verdict == "FAILED" else ""
    print(f"{verdict} studio_verifier::environment_repaired" + (f" - {reason}" if reason else ""))


def main(argv: list[str]) -> int:
    flags = [a for a in argv[5:] if a == "--tb" or a.startswith(("--since=", "--shell="))]
    if argv[:1] == ["check"] and len(argv) >= 5 and len(flags) == len(argv) - 5:
        since = [float(a.split("=", 1)[1]) for a in flags if a.startswith("--since=") and a != "--since="]
        shell = [a.split("=", 1)[1] for a in flags if a.startswith("--shell=") and a != "--shell="]
        return check(argv[1], argv[2], argv[3], argv[4], tb="--tb" in flags, since=(since or [None])[0],
                     shell=(shell or ["/bin/bash"])[0])  # run.sh's own shell: the toolbox's where there is one
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
