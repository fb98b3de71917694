"""What the project's ASR encoders share: the ESPnet encoder interface around a stack of
layers taking ``(xs, lengths)``, with intermediate CTC as in ESPnet's Conformer."""
from typing import List, Optional, Tuple, Union

import torch
from espnet2.asr.encoder.abs_encoder import AbsEncoder

from espnet_mamba.modules.padding import check_lengths, mask_frames


class LayerStackEncoder(AbsEncoder):
    """``embed`` (an :class:`InputLayer`) -> ``encoders`` -> ``after_norm``.

    Subclasses build ``embed``, ``encoders`` and ``after_norm`` and call
    :meth:`_setup` with their output size and intermediate-CTC options.
    """

    def _setup(self, output_size: int, interctc_layer_idx: Optional[List[int]],
               interctc_use_conditioning: bool) -> None:
        self._output_size = output_size
        self.interctc_layer_idx = list(interctc_layer_idx or [])
        for idx in self.interctc_layer_idx:
            if not 0 < idx < len(self.encoders):
                raise ValueError(
                    f"interctc_layer_idx entries must be in 1..{len(self.encoders) - 1}; "
                    f"got {idx}"
                )
        self.interctc_use_conditioning = interctc_use_conditioning
        self.conditioning_layer = None  # set by ESPnet's ASR model when conditioning

    def output_size(self) -> int:
        return self._output_size

    def _interctc(self, layer_idx: int, xs: torch.Tensor, ctc,
                  outs: List[Tuple[int, torch.Tensor]]) -> torch.Tensor:
        """After layer ``layer_idx`` (0-based): collect the normalized output for
        intermediate CTC and, with conditioning, add the projected CTC posteriors."""
        if layer_idx + 1 not in self.interctc_layer_idx:
            return xs
        out = self.after_norm(xs)
        outs.append((layer_idx + 1, out))
        if self.interctc_use_conditioning:
            xs = xs + self.conditioning_layer(ctc.softmax(out))
        return xs

    def forward(
        self,
        xs_pad: torch.Tensor,
        ilens: torch.Tensor,
        prev_states: Optional[torch.Tensor] = None,
        ctc=None,
    ) -> Tuple[Union[torch.Tensor, Tuple[torch.Tensor, list]], torch.Tensor, None]:
        """Encode a padded batch.

        Args:
            xs_pad: Features, (batch, T, input_size).
            ilens: Real lengths, (batch,).
            prev_states: Unused (ESPnet interface).
            ctc: ESPnet CTC module, needed for ``interctc_use_conditioning``.

        Returns:
            ``(out, olens, None)``: out (batch, T', output_size) with padded frames
            zero, or ``((out, [(layer, out_layer), ...]), olens, None)`` with
            intermediate CTC layers.

        Raises:
            TooShortUttError: the padded batch is too short for the subsampling (a
                shorter utterance inside a longer batch gets zero output frames, as
                with ESPnet's Conformer).
            ValueError: an empty batch, or ``ilens`` outside ``0..T``.
        """
        check_lengths(ilens, xs_pad, "ilens")
        xs, olens = self.embed(mask_frames(xs_pad, ilens), ilens)
        xs = mask_frames(xs, olens)
        inter: List[Tuple[int, torch.Tensor]] = []
        for i, layer in enumerate(self.encoders):
            xs = self._interctc(i, layer(xs, olens), ctc, inter)
        xs = mask_frames(self.after_norm(xs), olens)
        if inter:
            return (xs, inter), olens, None
        return xs, olens, None
