"""Mamba blocks: unidirectional, bidirectional (inner/outer)."""
from espnet_mamba.modules.bimamba import BiMambaInner, BiMambaOuter, build_mixer
from espnet_mamba.modules.mamba import Mamba, MambaState
from espnet_mamba.modules.padding import check_lengths, length_mask, mask_frames, reverse_padded

__all__ = [
    "BiMambaInner", "BiMambaOuter", "Mamba", "MambaState", "build_mixer", "check_lengths",
    "length_mask", "mask_frames", "reverse_padded",
]
