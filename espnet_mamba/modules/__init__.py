"""Mamba and Mamba-2 blocks: unidirectional, bidirectional (inner/outer)."""
from espnet_mamba.modules.bimamba import (BiMamba2Inner, BiMambaInner, BiMambaOuter, MixerState,
                                          build_mixer)
from espnet_mamba.modules.mamba import Mamba, MambaState
from espnet_mamba.modules.mamba2 import Mamba2, Mamba2State
from espnet_mamba.modules.padding import check_lengths, length_mask, mask_frames, reverse_padded

__all__ = [
    "BiMamba2Inner", "BiMambaInner", "BiMambaOuter", "Mamba", "Mamba2", "Mamba2State",
    "MambaState", "MixerState", "build_mixer", "check_lengths",
    "length_mask", "mask_frames", "reverse_padded",
]
