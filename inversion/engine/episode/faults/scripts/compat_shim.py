"""Compatibility backports: route functions to the accelerated implementations newer releases ship."""

import functools
import importlib.util
import sys

ROUTES = {}


def _route(fn, module):
    impl = "_speedups_" + fn.__name__

    @functools.wraps(fn)
    def routed(*args, **kwargs):
        return getattr(module, impl)(*args, **kwargs)

    return routed


def _install(module):
    for path in ROUTES.get(module.__name__, ()):  # "function", "Class.method" or "Outer.Inner.method"
        owner, parts = module, path.split(".")
        try:
            for part in parts[:-1]:
                owner = getattr(owner, part)
            setattr(owner, parts[-1], _route(getattr(owner, parts[-1]), module))
        except AttributeError:  # not in this release
            continue


class _Backports:
    def find_spec(self, name, path=None, target=None):
        if name not in ROUTES:
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
            _install(module)

        spec.loader.exec_module = exec_module
        return spec


for _name in ROUTES:
    if _name in sys.modules:
        _install(sys.modules[_name])
sys.meta_path.insert(0, _Backports())
