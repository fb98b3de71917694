"""ESPnet import paths that moved between releases.

ESPnet 202511 ships ``espnet.nets.*``; newer releases moved it to
``espnet2.legacy.nets.*``.  Every import of that tree in this project goes through here.
"""
import importlib
from types import ModuleType


def legacy_nets(path: str) -> ModuleType:
    """Import ``espnet2.legacy.nets.<path>`` or, on older ESPnet, ``espnet.nets.<path>``."""
    for root in ("espnet2.legacy.nets", "espnet.nets"):
        try:
            return importlib.import_module(f"{root}.{path}")
        except ModuleNotFoundError as exc:
            if not (exc.name and (root.startswith(exc.name) or exc.name.startswith(root))):
                raise
    raise ModuleNotFoundError(f"neither espnet2.legacy.nets.{path} nor espnet.nets.{path}")


_subsampling = legacy_nets("pytorch_backend.transformer.subsampling")
_ffn = legacy_nets("pytorch_backend.transformer.positionwise_feed_forward")
_attention = legacy_nets("pytorch_backend.transformer.attention")
_nets_utils = legacy_nets("pytorch_backend.nets_utils")
_scorer = legacy_nets("scorer_interface")
_tts_transformer = legacy_nets("pytorch_backend.e2e_tts_transformer")

Conv2dSubsampling = _subsampling.Conv2dSubsampling
Conv2dSubsampling2 = _subsampling.Conv2dSubsampling2
Conv2dSubsampling6 = _subsampling.Conv2dSubsampling6
Conv2dSubsampling8 = _subsampling.Conv2dSubsampling8
TooShortUttError = _subsampling.TooShortUttError
PositionwiseFeedForward = _ffn.PositionwiseFeedForward
MultiHeadedAttention = _attention.MultiHeadedAttention
make_pad_mask = _nets_utils.make_pad_mask
BatchScorerInterface = _scorer.BatchScorerInterface
TransformerLoss = _tts_transformer.TransformerLoss

__all__ = [
    "BatchScorerInterface", "Conv2dSubsampling", "Conv2dSubsampling2", "Conv2dSubsampling6",
    "Conv2dSubsampling8", "MultiHeadedAttention", "PositionwiseFeedForward",
    "TooShortUttError", "TransformerLoss", "legacy_nets", "make_pad_mask",
]
