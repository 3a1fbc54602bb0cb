"""Run in the task container with the gold's interpreter: `optional SEED - SITE` half-installs an
accelerator (package + dist-info in SITE) for a module the project tries to import and falls back
from (`try: import X` / `except ImportError`, X not installed); it imports, and each of its
functions raises. No annotations: the gold's Python may be old.
"""

import ast
import importlib.util
import os
import random
import re
import sys

OPTIONAL_STUB = (
    '"""{name}: accelerated implementations (partial build {version})."""\n\n'
    '__version__ = "{version}"\n\n\n'
    "def __getattr__(attr):\n"
    '    if attr.startswith("__"):\n'
    "        raise AttributeError(attr)\n\n"
    "    def unavailable(*args, **kwargs):\n"
    '        raise RuntimeError("{name}." + attr + " is not available in this build")\n\n'
    "    unavailable.__name__ = attr\n"
    "    return unavailable\n"
)


def optional_imports():
    """Top-level modules the project tries to import and falls back from (`try: import X` /
    `except ImportError`), which are not installed here: where a half-installed X would be taken."""
    found = {}
    for here, dirs, files in os.walk("/testbed"):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("tests", "test", "docs", "build", "dist")]
        for leaf in files:
            if not leaf.endswith(".py") or leaf.startswith(("test_", "conftest", "setup")):
                continue
            path = os.path.join(here, leaf)
            try:
                with open(path, encoding="utf-8") as fh:
                    tree = ast.parse(fh.read())
            except (OSError, SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, ast.Try):
                    continue
                caught = " ".join(ast.dump(h.type) if h.type is not None else "bare" for h in node.handlers)
                if not re.search(r"ImportError|ModuleNotFoundError|bare|'Exception'", caught):
                    continue
                for inner in node.body:
                    for imp in ast.walk(inner):
                        names = []
                        if isinstance(imp, ast.Import):
                            names = [a.name for a in imp.names]
                        elif isinstance(imp, ast.ImportFrom) and imp.module and not imp.level:
                            names = [imp.module]
                        for name in names:
                            top = name.split(".")[0]
                            if not top or top in getattr(sys, "stdlib_module_names", ()):
                                continue
                            try:
                                if importlib.util.find_spec(top) is not None:
                                    continue
                            except (ImportError, ValueError):
                                continue
                            found.setdefault(top, path)
    return found


def optional(rng, site):
    """A half-installed accelerator for one optional import: it imports, every function raises."""
    found = optional_imports()
    if not found:
        sys.stderr.write("the project has no optional import that is not installed\n")
        sys.exit(3)  # NO_TARGET (`faults.base`): none here, whatever else is laid
    name = rng.choice(sorted(found))
    version = f"0.{rng.randrange(4, 10)}.{rng.randrange(0, 4)}"
    os.makedirs(os.path.join(site, name), exist_ok=True)
    with open(os.path.join(site, name, "__init__.py"), "w") as fh:
        fh.write(OPTIONAL_STUB.format(name=name, version=version))
    info = os.path.join(site, f"{name}-{version}.dist-info")
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as fh:
        fh.write(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    with open(os.path.join(info, "INSTALLER"), "w") as fh:
        fh.write("pip\n")
    print("optional:", name, "taken by", found[name])


if __name__ == "__main__":
    optional(random.Random(int(sys.argv[2])), sys.argv[4])
