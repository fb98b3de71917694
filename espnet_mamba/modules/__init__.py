"""Mamba blocks: unidirectional, bidirectional (inner/outer)."""
from espnet_mamba.modules.bimamba import BiMambaInner, BiMambaOuter, build_mixer, reverse_padded
from espnet_mamba.modules.mamba import Mamba, MambaState, length_mask

__all__ = [
    "BiMambaInner", "BiMambaOuter", "Mamba", "MambaState", "build_mixer", "length_mask",
    "reverse_padded",
]
