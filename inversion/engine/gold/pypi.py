"""PyPI sdists fetched without executing anything from them.

`pip download --no-binary` runs the sdist's build backend to read its metadata (on the host, as the
studio's user). Here the sdist file is found by name and version in the index's JSON Simple API
(PEP 691, with upload times from PEP 700), downloaded, checked against the index's sha256 and
unpacked with tarfile's data filter; its code only ever runs inside the gold build container.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from inversion.engine.gold.errors import SourceError

ACCEPT = "application/vnd.pypi.simple.v1+json"
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz")
MAX_SDIST_BYTES = 500 * 1024 * 1024
TIMEOUT = 120


@dataclass(frozen=True)
class Sdist:
    filename: str
    url: str
    sha256: str
    uploaded: str  # ISO time the index gives (PEP 700), "" when it gives none


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(filename: str) -> tuple[str, str] | None:
    """("name", "version") of an sdist filename, or None for anything else (wheels, eggs)."""
    for suffix in SDIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            name, sep, version = stem.rpartition("-")
            return (name, version) if sep and name else None
    return None


def index_get(url: str, accept: str = ACCEPT) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "task-studio"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - an https/http index URL
        return response.read(MAX_SDIST_BYTES + 1)


def find_sdist(index: str, name: str, version: str) -> Sdist:
    """The sdist of name==version on `index` (a Simple API root such as https://pypi.org/simple)."""
    page = f"{index.rstrip('/')}/{normalize(name)}/"
    try:
        data = json.loads(index_get(page))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise SourceError(f"package {name!r} was not found on the index", "location") from exc
        raise SourceError(f"the index answered {exc.code} for {name}", "location") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SourceError(f"the index {index} cannot be reached: {getattr(exc, 'reason', exc)}", "location") from exc
    except ValueError as exc:
        raise SourceError(f"the index {index} did not answer with its JSON API (PEP 691)", "location") from exc
    sdists = []
    for f in data.get("files") or []:
        parts = _split(f.get("filename", ""))
        if parts and normalize(parts[0]) == normalize(name) and not f.get("yanked"):
            sdists.append((parts[1], f))
    matching = [f for v, f in sdists if v == version]
    if not matching:
        versions = sorted({v for v, _ in sdists}, key=lambda v: max(
            (f.get("upload-time") or "" for w, f in sdists if w == v), default=""))
        hint = f" (latest: {', '.join(versions[-5:])})" if versions else ""
        raise SourceError(f"{name} has no source distribution for version {version!r}{hint}", "ref")
    best = sorted(matching, key=lambda f: not f["filename"].endswith(".tar.gz"))[0]
    sha = (best.get("hashes") or {}).get("sha256", "")
    if not sha:
        raise SourceError(f"the index gives no sha256 for {best['filename']}; refusing an unverifiable download")
    return Sdist(best["filename"], urllib.parse.urljoin(page, best["url"]), sha, best.get("upload-time") or "")


def download(sdist: Sdist, into: Path) -> Path:
    """The sdist file in `into`, its sha256 checked against the index's."""
    try:
        data = index_get(sdist.url, accept="*/*")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise SourceError(f"could not download {sdist.filename}: {getattr(exc, 'reason', exc)}") from exc
    if len(data) > MAX_SDIST_BYTES:
        raise SourceError(f"{sdist.filename} is larger than {MAX_SDIST_BYTES // 2**20} MB")
    digest = hashlib.sha256(data).hexdigest()
    if digest != sdist.sha256:
        raise SourceError(f"{sdist.filename}: sha256 {digest[:12]}... does not match the index's {sdist.sha256[:12]}...")
    into.mkdir(parents=True, exist_ok=True)
    path = into / Path(sdist.filename).name
    path.write_bytes(data)
    return path


def unpack(archive: Path, into: Path) -> Path:
    """Extract safely (no absolute paths, no `..`, no links out, no devices); the sdist's top dir."""
    into.mkdir()
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise SourceError(f"unsafe path in sdist: {member}")
                zf.extractall(into)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        shutil.rmtree(into, ignore_errors=True)
        raise SourceError(f"{archive.name} cannot be unpacked: {exc}") from exc
    entries = list(into.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into
