"""The task taxonomy: the categories of the fault catalog, and how free text maps onto them.

Agents name a category when they finish. The built-in agent uses its family's, an LLM writes
whatever it likes ("shared-library", "Dependency", "startup hook"); catalogs filter and count by
category, so what is stored is always one of these names (or the agent's own word, slugged,
when it matches none)."""

from __future__ import annotations

import re

CATEGORIES = (
    "shared_library", "python_dependency", "module_shadowing", "startup_hooks", "bytecode_cache",
    "interpreter", "environment", "path", "config", "certificates", "locale", "timezone",
    "permissions", "filesystem", "dynamic_linker", "native_extension", "encoding", "warnings", "system_data",
    "alternatives", "trust_store", "name_resolution", "ownership", "package_version", "standard_library",
    "stale_build", "instrumentation", "optional_dependency", "project_layout", "partial_write",
    "debug_leftover", "package_manager", "source_encoding", "zip_import",
    "build_artifact", "local_patch", "compat_shim", "interrupted_upgrade",
)  # fmt: skip
SYNONYMS = {
    "shared_libraries": "shared_library", "shared_lib": "shared_library", "shared_object": "shared_library",
    "library": "shared_library", "dependency": "python_dependency", "dependencies": "python_dependency",
    "python_dependencies": "python_dependency", "package": "python_dependency", "packages": "python_dependency",
    "shadowing": "module_shadowing", "startup": "startup_hooks", "startup_hook": "startup_hooks",
    "pth": "startup_hooks", "sitecustomize": "startup_hooks", "bytecode": "bytecode_cache",
    "pycache": "bytecode_cache", "environment_variable": "environment", "environment_variables": "environment",
    "env": "environment", "env_var": "environment", "configuration": "config", "certificate": "certificates",
    "ssl": "certificates", "tls": "certificates", "time_zone": "timezone", "tz": "timezone",
    "permission": "permissions", "file_system": "filesystem", "files": "filesystem",
    "linker": "dynamic_linker", "dynamic_linking": "dynamic_linker", "ld_so_conf": "dynamic_linker",
    "ldconfig": "dynamic_linker", "c_extension": "native_extension", "extension": "native_extension",
    "undefined_symbol": "native_extension", "text_encoding": "encoding", "charset": "encoding",
    "unicode": "encoding", "warning": "warnings", "mime": "system_data", "mime_types": "system_data",
    "alternative": "alternatives", "symlink_chain": "alternatives", "ca_store": "trust_store",
    "trust": "trust_store", "dns": "name_resolution", "resolver": "name_resolution", "hosts": "name_resolution",
    "nsswitch": "name_resolution", "owner": "ownership", "chown": "ownership", "version": "package_version",
    "incompatible_version": "package_version", "downgrade": "package_version", "stdlib": "standard_library",
    "standard_lib": "standard_library", "python_stdlib": "standard_library", "stale_artifact": "stale_build",
    "stale_cache": "stale_build", "stale_pyc": "stale_build", "build_cache": "stale_build",
    "apm": "instrumentation", "tracing": "instrumentation", "monkeypatch": "instrumentation",
    "monkey_patch": "instrumentation", "telemetry": "instrumentation", "optional": "optional_dependency",
    "accelerator": "optional_dependency", "speedups": "optional_dependency", "fallback": "optional_dependency",
    "debugger": "debug_leftover", "debug": "debug_leftover", "breakpoint": "debug_leftover",
    "set_trace": "debug_leftover", "truncated": "partial_write", "truncation": "partial_write", "disk_full": "partial_write",
    "partial_copy": "partial_write", "layout": "project_layout", "leftover": "project_layout", "leftover_package": "project_layout",
    "dpkg": "package_manager", "dpkg_divert": "package_manager", "diversion": "package_manager", "apt": "package_manager",
    "utf_16": "source_encoding", "reencoded": "source_encoding", "file_encoding": "source_encoding",
    "zipimport": "zip_import", "zip": "zip_import", "embeddable": "zip_import",
    "hotfix": "local_patch", "patch": "local_patch", "patched": "local_patch", "orig": "local_patch",
    "shim": "compat_shim", "backport": "compat_shim", "backports": "compat_shim", "compat": "compat_shim",
    "upgrade": "interrupted_upgrade", "partial_upgrade": "interrupted_upgrade", "mixed_release": "interrupted_upgrade",
    "pip_stash": "interrupted_upgrade", "half_upgraded": "interrupted_upgrade",
    "mypyc": "build_artifact", "cython": "build_artifact", "build_ext": "build_artifact", "inplace_build": "build_artifact",
}  # fmt: skip


def canonical_category(text: str) -> str:
    """One of CATEGORIES for a known name or synonym in any spelling; otherwise the text slugged."""
    key = re.sub(r"[^a-z0-9]+", "_", (text or "").strip().lower()).strip("_")
    if key in CATEGORIES:
        return key
    return SYNONYMS.get(key, key[:60] or "environment")
