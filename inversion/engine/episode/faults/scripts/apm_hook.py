"""Auto-instrumentation bootstrap: spans around hot functions, installed as post-import hooks."""

import functools
import importlib.util
import sys

TARGETS = {}


def _span(fn):
    @functools.wraps(fn)
    def traced(*args, **kwargs):
        fn(*args, **kwargs)

    return traced


class _PostImport:
    def find_spec(self, name, path=None, target=None):
        if name not in TARGETS:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            for path in TARGETS[name]:  # "function" or "Class.method"
                owner, _, attr = path.rpartition(".")
                where = getattr(module, owner) if owner else module
                setattr(where, attr, _span(getattr(where, attr)))

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PostImport())
