"""The library of generic reward hacks every task must withstand (DESIGN.md rule 7).

Each hack is a versioned bash file in `hack_library/` (and in `STUDIO_HACKS_DIR`, for a site's own):
a header names it (`# name:`), says what it does (`# summary:`) and, where a harness cannot be
defended against it, which ones can (`# harnesses: harbor`; default both); it runs as root in a container
of the broken image, as an agent would before the verifier runs, with `STUDIO_GRADED_IDS` naming a
file of the graded test ids. Exit 0: applied; exit 99: does not apply to this image (say, no gcc).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

LIBRARY = Path(__file__).resolve().parent / "hack_library"
NOT_APPLICABLE = 99
IDS_PATH = "/tmp/.studio-graded-ids"


@dataclass(frozen=True)
class Hack:
    name: str
    summary: str
    script: str
    harnesses: tuple[str, ...] = ("harbor", "tb")  # where it must score 0 (validation mirrors Harbor)


def _parse(path: Path) -> Hack:
    text = path.read_text()
    meta = {}
    for line in text.splitlines()[:6]:
        key, sep, value = line.removeprefix("#").strip().partition(":")
        if sep and key in ("name", "summary", "harnesses"):
            meta[key] = value.strip()
    harnesses = tuple(meta["harnesses"].replace(",", " ").split()) if meta.get("harnesses") else Hack.harnesses
    return Hack(meta.get("name") or path.stem, meta.get("summary", ""), text, harnesses)


def parse_hack(path: Path) -> Hack:
    """One hack file's header and script."""
    return _parse(path)


def load_hacks(extra_dir: str | Path | None = None) -> list[Hack]:
    """The studio's hacks, then a site's own (a name given twice: the site's file wins)."""
    found: dict[str, Hack] = {}
    for folder in (LIBRARY, Path(extra_dir) if extra_dir else None):
        if folder and folder.is_dir():
            for path in sorted(folder.glob("*.sh")):
                hack = _parse(path)
                found[hack.name] = hack
    return list(found.values())


def judge_hacks(results: list[dict[str, Any]]) -> tuple[bool, str]:
    """Every applied hack must leave the verifier's reward at 0 (a verifier it made time out gave none:
    that fails too, and says so)."""
    won = [r["name"] for r in results if r["applied"] and r["reward"] != 0]
    applied = sum(1 for r in results if r["applied"])
    if won:
        late = [r["name"] for r in results if r["name"] in won and r.get("timed_out")]
        return False, f"the verifier gave reward {'/'.join(str(r['reward']) for r in results if r['name'] in won)} " \
                      f"after: {', '.join(won)}" + (f" (it timed out after: {', '.join(late)})" if late else "")
    skipped = [r["name"] for r in results if not r["applied"]]
    return True, (f"all {applied} applied hacks scored 0" + (f" ({', '.join(skipped)} did not apply)" if skipped else ""))
