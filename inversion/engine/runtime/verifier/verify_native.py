"""The verifier's native side: what decides which shared objects a Python process loads, beyond the
files the manifest hashes. Shipped beside `verify.py`, which runs it (never imports it: the tests
directory is not on its `sys.path`, so nothing an agent left there is imported instead).

- The loader's cache: where `/etc/ld.so.cache` sends each soname the interpreter and the extension
  modules need (a directory put in /etc/ld.so.conf.d plus `ldconfig` sends the loader elsewhere
  with every library file intact).
- The NSS modules: glibc loads `libnss_<service>.so.2` into any process that looks up a user or a
  host (pytest's tmp_path asks for the user name) for every service /etc/nsswitch.conf names but
  `files` and `dns`, which are built in since glibc 2.34.

Both are read as glibc reads them, with no tool in between; `verify.py` uses only `os` and its own
`_read`/`_regular` (passed in), so its bootstrap list is unchanged.
"""

from __future__ import annotations

import os

CACHE = "/etc/ld.so.cache"
NSSWITCH = "/etc/nsswitch.conf"
NSS_BUILTIN = {"files", "dns"}
LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib")


def loader_map(read, sonames: list[str], cache: str = CACHE) -> dict[str, list[str]]:
    """Each soname's entries in the loader's cache in its order ("flags path"): glibc >= 2.32's
    format, a 48-byte header, then 24-byte entries whose strings are offsets from the header."""
    found: dict[str, list[str]] = {name: [] for name in sonames}
    data = read(cache) if os.path.isfile(cache) else b""
    start = data.find(b"glibc-ld.so.cache1.1")  # after an old-format part, where one is

    def num(at: int) -> int:
        return int.from_bytes(data[start + at:start + at + 4], "little")

    def text(at: int) -> str:
        return data[start + at:data.find(b"\0", start + at)].decode("utf-8", "surrogateescape")

    for at in range(48, 48 + 24 * num(20) if start >= 0 else 0, 24):
        if at + 24 <= len(data) - start and text(num(at + 4)) in found:
            found[text(num(at + 4))].append(f"{num(at)} {text(num(at + 8))}")
    return found


def nss_services(read, conf: str = NSSWITCH) -> list[str]:
    """The services /etc/nsswitch.conf names that glibc loads a module for (action groups such as
    `[NOTFOUND=return]` aside)."""
    names: set[str] = set()
    text = read(conf).decode("utf-8", "replace") if os.path.isfile(conf) else ""
    for line in text.splitlines():
        _, sep, rest = line.split("#", 1)[0].partition(":")
        depth = 0
        for word in rest.replace("[", " [ ").replace("]", " ] ").split() if sep else []:
            depth += (word == "[") - (word == "]")
            if depth == 0 and word not in ("[", "]"):
                names.add(word)
    return sorted(names - NSS_BUILTIN)


def nss_modules(read, regular, conf: str = NSSWITCH, cache: str = CACHE) -> dict[str, str]:
    """Each named service's module as the loader would find it ("path hash"; "" where none is): the
    cache first, then the default directories."""
    sonames = {name: f"libnss_{name}.so.2" for name in nss_services(read, conf)}
    cached = loader_map(read, list(sonames.values()), cache)
    found = {}
    for name, soname in sonames.items():
        paths = [row.split(" ", 1)[1] for row in cached[soname]] + [os.path.join(d, soname) for d in LIB_DIRS]
        path = next((p for p in paths if os.path.isfile(p)), "")
        digest = regular(os.path.realpath(path)) if path else None
        found[name] = f"{path} {digest[0]}" if digest else ""
    return found


def gold_state(read, regular, sonames: list[str]) -> dict:
    """What the manifest records (collect.py, in the pristine gold)."""
    return {"loader": loader_map(read, sonames), "nss": nss_modules(read, regular)}


def lines(read, regular, config: dict) -> list[str]:
    """One line per soname the loader's cache now resolves otherwise than in the gold, and per NSS
    module that would now be loaded where the gold loaded none or another."""
    want = config.get("loader") or {}
    have = loader_map(read, sorted(want))

    def paths(rows: list[str]) -> str:
        return ", ".join(r.split(" ", 1)[1] for r in rows) or "nothing"

    found = [f"tampered: the loader's cache resolves {n} to {paths(have[n])} (gold: {paths(want[n])})"
             for n in sorted(want) if have[n] != want[n]]
    if "nss" in config:
        gold = config["nss"]
        found += [f"tampered: {NSSWITCH} has glibc load {module.split(' ')[0]} for '{name}' "
                  f"(gold: {gold.get(name, '').split(' ')[0] or 'nothing'})"
                  for name, module in nss_modules(read, regular).items() if module and module != gold.get(name, "")]
    return found
