"""Encoder ``mamba``: subsampling + a stack of pre-norm residual Mamba layers."""
from typing import List, Optional, Tuple, Union

import torch
from espnet2.asr.encoder.abs_encoder import AbsEncoder

from espnet_mamba.asr.encoder.interctc import InterCTCMixin
from espnet_mamba.asr.encoder.subsampling import InputLayer
from espnet_mamba.modules.layers import MambaLayer, make_norm, mask_frames


class MambaEncoder(InterCTCMixin, AbsEncoder):
    """Mamba encoder (Speech-Mamba / Speech Slytherin "Mamba" ASR encoder).

    Args:
        input_size: Input feature size (e.g. 80 fbank bins).
        output_size: Model size d_model.
        num_blocks: Number of Mamba layers.
        input_layer: ``conv2d``, ``conv2d2``, ``conv2d6``, ``conv2d8``, ``linear``, ``none``.
        bidirectional: Bidirectional Mamba (offline); ``False`` gives a causal encoder
            that can stream (:mod:`espnet_mamba.asr.streaming`).
        bidirectional_type: ``inner`` (Vim "v2", shared projections) or ``outer``
            (two Mamba blocks).
        bidirectional_merge: ``add`` or ``concat`` (``outer`` only).
        d_state: SSM state size.
        d_conv: Width of the causal depthwise convolution.
        expand: Inner size factor.
        norm: ``layer_norm`` or ``rms_norm`` (each layer and the final norm).
        dropout_rate: Dropout after the input layer and on each layer's output.
        interctc_layer_idx: Layers (1-based) whose outputs feed intermediate CTC.
        interctc_use_conditioning: Self-conditioned CTC on those layers.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int = 256,
        num_blocks: int = 12,
        input_layer: str = "conv2d",
        bidirectional: bool = True,
        bidirectional_type: str = "inner",
        bidirectional_merge: str = "add",
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        norm: str = "layer_norm",
        dropout_rate: float = 0.1,
        interctc_layer_idx: Optional[List[int]] = None,
        interctc_use_conditioning: bool = False,
    ):
        super().__init__()
        self._output_size = output_size
        self.bidirectional = bidirectional
        self.embed = InputLayer(input_layer, input_size, output_size, dropout_rate)
        self.encoders = torch.nn.ModuleList(
            MambaLayer(
                output_size, norm=norm, dropout_rate=dropout_rate,
                bidirectional=bidirectional, bidirectional_type=bidirectional_type,
                bidirectional_merge=bidirectional_merge, d_state=d_state, d_conv=d_conv,
                expand=expand, layer_idx=i,
            )
            for i in range(num_blocks)
        )
        self.after_norm = make_norm(norm, output_size)
        self._setup_interctc(output_size, interctc_layer_idx, interctc_use_conditioning,
                             num_blocks)

    def output_size(self) -> int:
        return self._output_size

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
            TooShortUttError: an utterance is too short for the subsampling.
        """
        xs, olens = self.embed(xs_pad, ilens)
        xs = mask_frames(xs, olens)
        inter: List[Tuple[int, torch.Tensor]] = []
        for i, layer in enumerate(self.encoders):
            xs = layer(xs, olens)
            xs = self._interctc(i, xs, ctc, inter)
        xs = mask_frames(self.after_norm(xs), olens)
        if inter:
            return (xs, inter), olens, None
        return xs, olens, None
