"""Registration of the project's classes into ESPnet's ``ClassChoices``.

ESPnet picks a component by name from module-level ``ClassChoices`` objects in
``espnet2.tasks.<task>`` (``encoder_choices`` etc.).  :func:`register` adds our classes
to every such object that is already imported, and to task modules imported later,
right after the module body runs (:mod:`espnet_mamba.import_hook`; so tasks that
deep-copy another task's choices at import, like ``enh_s2t``, copy ours too).
Importing ``espnet_mamba`` stays cheap: no ESPnet module (nor torch) is imported here.
"""
import importlib
import warnings
from typing import Dict, List, NamedTuple

from espnet_mamba.import_hook import after_import

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
    "tts": {"mamba_tts": "espnet_mamba.tts.mamba_tts:MambaTTS",
            "mamba_fastspeech": "espnet_mamba.tts.mamba_fastspeech:MambaFastSpeech"},
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


ALIAS_PREFIX = "espnet_mamba."  # every class is also registered as espnet_mamba.<name>
_warned = set()  # (choices name, class name) collisions already reported


def add_class(choices, name: str, cls: type) -> str:
    """Add ``cls`` to a ``ClassChoices`` under ``name`` and under the alias
    ``espnet_mamba.<name>``; idempotent.

    If ESPnet (or another plugin) already holds ``name``, that class keeps it and ``cls``
    is reachable by the alias only; one warning names both.  ESPnet's own names are
    identifiers, so the dotted alias cannot collide with them.

    Returns:
        The name ``cls`` answers to without the alias: ``name``, or the alias on a
        collision.

    Raises:
        RegistrationError: ``name`` is not lower case, or ``cls`` is not a subclass of
            the choices' base type (programming errors of this project).
    """
    if name != name.lower():
        raise RegistrationError(f"class choice names must be lower case: {name!r}")
    base = choices.base_type
    if base is not None and not issubclass(cls, base):
        raise RegistrationError(
            f"{cls.__qualname__} cannot be a --{choices.name}: it is not a subclass of "
            f"{base.__module__}.{base.__qualname__}"
        )
    alias = ALIAS_PREFIX + name
    choices.classes[alias] = cls
    existing = choices.classes.get(name)
    if existing is None or _same_class(existing, cls):
        choices.classes[name] = cls
        return name
    if (choices.name, name) not in _warned:
        _warned.add((choices.name, name))
        warnings.warn(
            f"--{choices.name} {name!r} is already taken by "
            f"{existing.__module__}.{existing.__qualname__}, which keeps it; espnet-mamba's "
            f"{cls.__module__}.{cls.__qualname__} is registered as --{choices.name} "
            f"{alias!r} (write `{choices.name}: {alias}` in the config)",
            RuntimeWarning, stacklevel=2,
        )
    return alias


def _same_class(a: type, b: type) -> bool:
    """The same class, or the same one from a re-imported module."""
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def register_module(module) -> None:
    """Add the project's classes to the ClassChoices of one imported task module."""
    for entry in entries():
        if entry.module == module.__name__ and hasattr(module, entry.choices):
            add_class(getattr(module, entry.choices), entry.name, _load(entry.target))


def register() -> None:
    """Register into the task modules already imported, and into those imported later.

    Safe to call any number of times.
    """
    for module in sorted({entry.module for entry in entries()}):
        after_import(module, register_module)
