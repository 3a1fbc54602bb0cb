"""Fault signatures: what a task's breakage *is*, so a catalog can count kinds and refuse repeats.

A signature has one entry per layer (`kind`: the fault family, or for an LLM episode the kind of
change inferred from what it touched; `target`: the module, library, program or setting aimed at),
the environment variables the delta sets and the set of touched paths, normalised so that version
parts (`python3.11`, `libssl.so.3.0.2`) and the layer's own target do not tell two breakages apart.

- Duplicates: equal `key` (a hash of the layers' kinds and targets, env names and paths); for the
  catalog's families, also an equal set of families (`families_key`), whatever the targets.
- Near-duplicates: `similarity(a, b) >= NEAR_DUP` where similarity is
  0.7 x Jaccard(structural features) + 0.3 x Jaccard(instruction 4-word shingles) (structural
  only when either text is missing). Structural features are `kind:<k>` per layer, `env:<NAME>` and
  the touched paths with each layer's target masked, so "the same family on another dependency"
  (a stub on PYTHONPATH for yaml, then for six) scores 1.0 structurally and is caught.

Plain Python, no Django: agents, validation, services and benches all use it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from typing import Any

NEAR_DUP = 0.6
STRUCTURE_WEIGHT = 0.7
MAX_PATHS = 40
NOISE = ("/root/.cache", "/tmp/studio", "/tmp/.studio", "/tmp/.probe-", "/opt/studio-", "/var/cache/debconf", "/var/log",
         "/usr/sbin/docker-init", "/sbin/docker-init")  # the engine's init, mounted into every container
# LLM episodes: the first matching rule names the kind of change (and what part is the target).
KIND_RULES: tuple[tuple[str, str], ...] = (
    (r"/etc/ld\.so\.conf|/etc/ld\.so\.cache", "ld_config"),
    (r"/etc/nsswitch\.conf|/etc/hosts|/etc/resolv\.conf|/etc/gai\.conf", "name_service"),
    (r"/etc/ssl/|/usr/local/share/ca-certificates|/etc/ca-certificates", "ca_store"),
    (r"/etc/alternatives/", "alternatives"),
    (r"/usr/share/zoneinfo|/etc/localtime", "tzdata"),
    (r"/usr/lib/locale|/etc/locale", "locale_data"),
    (r"sitecustomize\.py$|usercustomize\.py$", "sitecustomize"),
    (r"\.pth$", "pth_file"),
    (r"__pycache__/.*\.pyc$", "bytecode"),
    (r"/testbed/(.*/)?(conftest\.py|pytest\.ini|setup\.cfg|tox\.ini|pyproject\.toml)$", "test_config"),
    (r"^/testbed/[^/]+\.py$", "testbed_shadow"),
    (r"/(venv|\.venv|opt/venv)/bin/python", "interpreter_link"),
    (r"\.so(\.[\d#]+)*(\.\w+)?$", "shared_library_file"),
    (r"site-packages/", "site_packages_edit"),
    (r"/(usr/)?(local/)?s?bin/", "executable"),
    (r"^/tmp/", "tmp_state"),
)


def normalise(path: str) -> str:
    """Version-specific parts become `#`: python3.11 -> python#, libz.so.1.2.13 -> libz.so.#."""
    path = re.sub(r"\d+(?:[._]\d+)*", "#", path)
    return path.rstrip("/") or "/"


def leaves(paths: Iterable[str]) -> list[str]:
    """Changed paths that are not a parent of another changed path (overlay copy-ups and `docker
    diff` list every ancestor directory too), without noise (caches, the studio's own files, the
    engine's init). Noise is dropped after the ancestors, so its parent directories go with it."""
    clean = sorted({p.rstrip("/") for p in paths if p and p != "/"})
    out = [p for i, p in enumerate(clean) if not (i + 1 < len(clean) and clean[i + 1].startswith(p + "/"))]
    return [p for p in out if not p.startswith(NOISE)]


def path_set(paths: Iterable[str], limit: int = MAX_PATHS) -> list[str]:
    """Normalised leaves; a directory with many changed children (a pip install) becomes `dir/*`."""
    norm = sorted({normalise(p) for p in leaves(paths)})
    while len(norm) > limit:
        by_dir: dict[str, int] = {}
        for p in norm:
            by_dir[os.path.dirname(p)] = by_dir.get(os.path.dirname(p), 0) + 1
        crowded = max(by_dir, key=lambda d: (by_dir[d], len(d)))
        if by_dir[crowded] < 2:
            norm = norm[:limit]
            break
        norm = sorted({p for p in norm if os.path.dirname(p) != crowded} | {f"{crowded}/*"})
    return norm


def infer_kind(paths: list[str], env: list[str], delta: list[dict[str, Any]]) -> tuple[str, str]:
    """(kind, target) of a change nobody named (LLM episodes): from the touched paths, the env
    names set and the commands' verbs (a chmod is a mode change, a `pip install` a version change)."""
    commands = " ".join(str(s.get("run", "")) for s in delta)
    if re.search(r"\bpip3?\s+install\b|-m\s+pip\s+install", commands):
        spec = re.search(r"pip3?\s+install\s+(?:-\S+\s+)*['\"]?([A-Za-z0-9_.-]+)", commands)
        return "package_version", (spec.group(1).lower() if spec else "package")
    if re.search(r"\bchmod\b|\bchown\b", commands) and not paths:
        return "mode_change", "file mode"
    for pattern, kind in KIND_RULES:
        hit = next((p for p in paths if re.search(pattern, p)), None)
        if hit:
            base = os.path.basename(hit.rstrip("/*")) or hit
            return kind + ("_mode" if re.search(r"\bchmod\b|\bchown\b", commands) else ""), base
    if env:
        return f"env_{env[0].lower()}", env[0]
    if paths:
        top = "/".join(paths[0].split("/")[:3])
        return "file_edit", top
    return "unknown", ""


def signature_of(*, layers: list[dict[str, Any]], delta: list[dict[str, Any]], touched: Iterable[str],
                 category: str = "") -> dict[str, Any]:
    """The signature of a break: `layers` as the agent reported them ({family, category, target}),
    the kept delta (for env names and, without a family, the inferred kind) and the touched paths."""
    env = sorted({str(s["env"]) for s in delta if "env" in s})
    paths = path_set(touched)
    out_layers = []
    for layer in layers or [{}]:
        kind, target = layer.get("family") or "", str(layer.get("target") or "")
        if not kind:
            kind, inferred = infer_kind(paths, env, delta)
            target = target or inferred
            kind = f"llm:{kind}"
        out_layers.append({"kind": kind, "category": layer.get("category") or category,
                           "target": normalise(target) if target else ""})
    sig = {"layers": out_layers, "env": env, "paths": paths}
    sig["key"] = signature_key(sig)
    sig["label"] = label(sig)
    return sig


def signature_key(sig: dict[str, Any]) -> str:
    """Equal keys = duplicate tasks."""
    body = {"layers": sorted((la["kind"], la["target"]) for la in sig.get("layers") or []),
            "env": sorted(sig.get("env") or []), "paths": sorted(sig.get("paths") or [])}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def families_key(sig: dict[str, Any]) -> str:
    """The set of catalog families a signature's layers name, as a key ("" where a layer's kind was
    inferred, as an LLM episode's are): a gold has one task per set, whatever the targets (the
    built-in agent's rule, `agents/guard.py`), which validation enforces too, for two episodes that
    claimed one set at the same moment."""
    kinds = [str(la.get("kind") or "") for la in sig.get("layers") or []]
    if not kinds or any(not k or k.startswith("llm:") for k in kinds):
        return ""
    return "families:" + "+".join(sorted(set(kinds)))


def known_twin(known: dict[str, str], sig: dict[str, Any]) -> tuple[str, str]:
    """(the task in `known` this signature repeats, "signature" or "families"), or ("", "")."""
    if twin := known.get(sig.get("key") or ""):
        return twin, "signature"
    families = families_key(sig)
    return (known[families], "families") if families and families in known else ("", "")


def label(sig: dict[str, Any]) -> str:
    """One line a person reads: `family(target) + family(target)`."""
    parts = [f"{la['kind']}({la['target']})" if la.get("target") else la["kind"] for la in sig.get("layers") or []]
    return " + ".join(parts) or "unknown"


def features(sig: dict[str, Any]) -> set[str]:
    """Structural features: kinds, env names and the paths with each layer's target masked."""
    layers = sig.get("layers") or []
    targets = sorted({la["target"] for la in layers if len(la.get("target") or "") >= 3}, key=len, reverse=True)
    out = {f"kind:{la['kind']}" for la in layers} | {f"env:{e}" for e in sig.get("env") or []}
    for path in sig.get("paths") or []:
        for target in targets:
            path = path.replace(target, "<t>")
        out.add(path)
    return out


WORD = re.compile(r"[a-z]+")


def shingles(text: str, n: int = 4) -> set[str]:
    """Word n-grams of an instruction, with test ids, paths and numbers dropped (they always differ)."""
    text = re.sub(r"`[^`]*`|\S*[/:.]\S*|\d+", " ", (text or "").lower())
    words = WORD.findall(text)
    return {" ".join(words[i:i + n]) for i in range(max(0, len(words) - n + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def similarity(a: dict[str, Any], b: dict[str, Any], text_a: str = "", text_b: str = "") -> float:
    """0..1; see the module docstring. Equal keys are 1.0."""
    if a.get("key") and a.get("key") == b.get("key"):
        return 1.0
    structural = jaccard(features(a), features(b))
    if not (text_a and text_b):
        return round(structural, 3)
    return round(STRUCTURE_WEIGHT * structural + (1 - STRUCTURE_WEIGHT) * jaccard(shingles(text_a), shingles(text_b)), 3)


def near_duplicates(items: list[dict[str, Any]], threshold: float = NEAR_DUP) -> list[tuple[int, int, float]]:
    """Pairs (i, j, similarity) at or above the threshold among items {"signature", "text"}."""
    pairs = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            s = similarity(items[i]["signature"], items[j]["signature"], items[i].get("text", ""), items[j].get("text", ""))
            if s >= threshold:
                pairs.append((i, j, s))
    return pairs


def clusters(n: int, pairs: list[tuple[int, int, float]]) -> list[list[int]]:
    """Connected groups (size >= 2) of the near-duplicate graph, largest first."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, _ in pairs:
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))
