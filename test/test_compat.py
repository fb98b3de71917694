"""ESPnet import paths: ``espnet2.legacy.nets`` (newer ESPnet) or ``espnet.nets``."""
import importlib

import pytest

from espnet_mamba import compat


def test_resolves_whichever_layout_is_installed():
    module = compat.legacy_nets("pytorch_backend.transformer.subsampling")
    try:
        expected = importlib.import_module("espnet2.legacy.nets").__name__
    except ModuleNotFoundError:
        expected = "espnet.nets"
    assert module.__name__.startswith(expected)
    assert compat.Conv2dSubsampling is module.Conv2dSubsampling


def test_missing_module_names_both_layouts():
    with pytest.raises(ModuleNotFoundError, match="espnet2.legacy.nets.no_such_module"):
        compat.legacy_nets("no_such_module")
