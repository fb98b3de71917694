"""Intermediate CTC (as in ESPnet's Conformer encoder), shared by the encoders."""
from typing import List, Optional, Tuple

import torch


class InterCTCMixin:
    """Collects normalized outputs after chosen layers and optionally conditions on
    their CTC posteriors (self-conditioned CTC).  Needs ``after_norm``,
    ``interctc_layer_idx`` and, with conditioning, ``conditioning_layer``."""

    interctc_layer_idx: List[int]
    interctc_use_conditioning: bool

    def _setup_interctc(self, output_size: int, interctc_layer_idx: Optional[List[int]],
                        interctc_use_conditioning: bool, num_blocks: int) -> None:
        self.interctc_layer_idx = list(interctc_layer_idx or [])
        for idx in self.interctc_layer_idx:
            if not 0 < idx < num_blocks:
                raise ValueError(
                    f"interctc_layer_idx entries must be in 1..{num_blocks - 1}; got {idx}"
                )
        self.interctc_use_conditioning = interctc_use_conditioning
        self.conditioning_layer = None  # set by ESPnet's ASR model when conditioning

    def _interctc(self, layer_idx: int, xs: torch.Tensor, ctc, outs: List[Tuple[int, torch.Tensor]]
                  ) -> torch.Tensor:
        """Call after layer ``layer_idx`` (0-based); returns the (maybe conditioned) xs."""
        if layer_idx + 1 not in self.interctc_layer_idx:
            return xs
        out = self.after_norm(xs)
        outs.append((layer_idx + 1, out))
        if self.interctc_use_conditioning:
            xs = xs + self.conditioning_layer(ctc.softmax(out))
        return xs
