"""Run a function on a module right after its body runs, whenever it is imported.

:func:`after_import` is how the project reaches into ESPnet without importing it: the
registration (:mod:`espnet_mamba.registry`) adds our classes to ESPnet's task modules
and :mod:`espnet_mamba.espnet_fixes` patches ESPnet functions, each on the module's
first import (or at once, if it is already imported).  One meta-path finder wraps the
loader of the watched modules; other imports pass through untouched.
"""
import importlib.abc
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Callable, Dict, List

Hook = Callable[[ModuleType], None]
_HOOKS: Dict[str, List[Hook]] = {}  # module name -> hooks, in the order they were added


def after_import(module_name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once ``module_name`` is imported: now if it already is,
    and after every later import of it (a re-import runs the hook again).  Adding the
    same hook twice has no effect."""
    hooks = _HOOKS.setdefault(module_name, [])
    if hook in hooks:
        return
    hooks.append(hook)
    if not any(isinstance(f, _HookFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _HookFinder())
    module = sys.modules.get(module_name)
    if module is not None:
        hook(module)


class _HookingLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        for hook in _HOOKS.get(module.__name__, ()):
            hook(module)


class _HookFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of the watched modules to run their hooks once loaded."""

    _local = threading.local()

    def find_spec(self, fullname, path, target=None):
        if fullname not in _HOOKS or getattr(self._local, "busy", False):
            return None
        self._local.busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._local.busy = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _HookingLoader(spec.loader)
        return spec
