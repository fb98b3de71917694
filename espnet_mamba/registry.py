"""Registration of the project's classes into ESPnet's ``ClassChoices``.

ESPnet picks a component by name from module-level ``ClassChoices`` objects in
``espnet2.tasks.<task>`` (``encoder_choices`` etc.).  :func:`register` adds our classes
to every such object that is already imported, and installs an import hook that adds
them to task modules imported later, right after the module body runs (so tasks that
deep-copy another task's choices at import, like ``enh_s2t``, copy ours too).  The same
hook applies :mod:`espnet_mamba.espnet_fixes` to the ESPnet modules they fix.
Importing ``espnet_mamba`` stays cheap: no ESPnet module (nor torch) is imported here.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import threading
from functools import lru_cache
from typing import Callable, Dict, List, NamedTuple

from espnet_mamba import espnet_fixes

class Entry(NamedTuple):
    """One class to add: ``module.choices[name] = import(target)``."""

    module: str
    choices: str
    name: str
    target: str  # "package.module:Class"


# Fixed, lower-case names (ESPnet's ``get_class`` looks names up as given).
_COMPONENTS: Dict[str, Dict[str, str]] = {
    "asr_encoder": {
        "mamba": "espnet_mamba.asr.encoder.mamba_encoder:MambaEncoder",
        "conmamba": "espnet_mamba.asr.encoder.conmamba_encoder:ConMambaEncoder",
    },
    "asr_decoder": {
        "mamba": "espnet_mamba.asr.decoder.mamba_decoder:MambaDecoder",
        "cross_mamba": "espnet_mamba.asr.decoder.cross_mamba_decoder:CrossMambaDecoder",
    },
    "enh_separator": {"mamba": "espnet_mamba.enh.separator.mamba_separator:MambaSeparator"},
    "tts": {"mamba_tts": "espnet_mamba.tts.mamba_tts:MambaTTS"},
}

# Which ClassChoices hold each kind: the task's own, and the copies other tasks make.
_HOLDERS: Dict[str, List[tuple]] = {
    "asr_encoder": [("espnet2.tasks.asr", "encoder_choices"),
                    ("espnet2.tasks.enh_s2t", "asr_encoder_choices")],
    "asr_decoder": [("espnet2.tasks.asr", "decoder_choices"),
                    ("espnet2.tasks.enh_s2t", "asr_decoder_choices")],
    "enh_separator": [("espnet2.tasks.enh", "separator_choices"),
                      ("espnet2.tasks.enh_s2t", "enh_separator_choices")],
    "tts": [("espnet2.tasks.tts", "tts_choices")],
}


class RegistrationError(ValueError):
    """A project class cannot be added to an ESPnet ``ClassChoices``."""


def entries() -> List[Entry]:
    """Every (module, choices, name, class) the project registers."""
    out = []
    for kind, names in _COMPONENTS.items():
        for module, choices in _HOLDERS[kind]:  # kinds without components add nothing
            for name, target in names.items():
                out.append(Entry(module, choices, name, target))
    return out


def _load(target: str) -> type:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def add_class(choices, name: str, cls: type) -> None:
    """Add ``cls`` under ``name`` to a ``ClassChoices``; idempotent.

    Raises:
        RegistrationError: ``name`` is not lower case, ``cls`` is not a subclass of the
            choices' base type, or another class already holds ``name``.
    """
    if name != name.lower():
        raise RegistrationError(f"class choice names must be lower case: {name!r}")
    existing = choices.classes.get(name)
    if existing is cls:
        return
    if existing is not None:
        raise RegistrationError(
            f"--{choices.name} {name!r} is already taken by "
            f"{existing.__module__}.{existing.__qualname__}; refusing to shadow it with "
            f"{cls.__module__}.{cls.__qualname__}"
        )
    base = choices.base_type
    if base is not None and not issubclass(cls, base):
        raise RegistrationError(
            f"{cls.__qualname__} cannot be a --{choices.name}: it is not a subclass of "
            f"{base.__module__}.{base.__qualname__}"
        )
    choices.classes[name] = cls


def register_module(module) -> None:
    """Add the project's classes to the ClassChoices of one imported task module."""
    for entry in entries():
        if entry.module == module.__name__ and hasattr(module, entry.choices):
            add_class(getattr(module, entry.choices), entry.name, _load(entry.target))


@lru_cache(maxsize=None)
def _hooks() -> Dict[str, Callable]:
    """Module name -> what to do once it is imported (read once per process)."""
    hooks = espnet_fixes.hooks()
    hooks.update({e.module: register_module for e in entries()})
    return hooks


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _hooks()[module.__name__](module)


class _TaskFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of ESPnet task modules (and of the modules
    :mod:`espnet_mamba.espnet_fixes` fixes) to run their hook once loaded."""

    _local = threading.local()

    def find_spec(self, fullname, path, target=None):
        if fullname not in _hooks() or getattr(self._local, "busy", False):
            return None
        self._local.busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._local.busy = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


def register() -> None:
    """Register into task modules already imported (and fix ESPnet modules already
    imported), and hook the ones imported later.

    Safe to call any number of times.
    """
    if not any(type(f).__name__ == "_TaskFinder" for f in sys.meta_path):
        sys.meta_path.insert(0, _TaskFinder())
    for name, hook in sorted(_hooks().items()):
        module = sys.modules.get(name)
        if module is not None:
            hook(module)
