"""Encoder ``conmamba``: the ConMamba encoder of Speech Slytherin (Jiang et al. 2024).

A Conformer whose self-attention is replaced by bidirectional Mamba.  Each layer:
half-step FFN (macaron) -> bidirectional Mamba -> convolution module -> half-step FFN
-> LayerNorm, every sub-layer pre-norm and residual.  Unlike the public reference
code, padding is respected: the reverse scan starts at each utterance's last real
frame and the convolution module zeroes padded frames, so an utterance's output does
not depend on what it is batched with (in eval mode; ``cnn_module_norm: layer_norm``
makes it batch-independent in training too).
"""
from typing import List, Optional

import torch
from typeguard import typechecked

from espnet_mamba.asr.encoder.base import LayerStackEncoder
from espnet_mamba.asr.encoder.subsampling import InputLayer
from espnet_mamba.checks import at_least, one_of, probability
from espnet_mamba.compat import PositionwiseFeedForward
from espnet_mamba.modules.bimamba import build_mixer
from espnet_mamba.modules.dropout import use_fast_dropout
from espnet_mamba.modules.layers import ConvolutionModule
from espnet_mamba.modules.padding import length_mask, mask_frames

ACTIVATIONS = {"swish": torch.nn.SiLU, "relu": torch.nn.ReLU, "gelu": torch.nn.GELU}


class ConMambaEncoderLayer(torch.nn.Module):
    """One ConMamba layer (names follow ESPnet's Conformer ``EncoderLayer``)."""

    def __init__(self, size: int, mixer: torch.nn.Module, feed_forward: torch.nn.Module,
                 feed_forward_macaron: Optional[torch.nn.Module],
                 conv_module: Optional[ConvolutionModule], dropout_rate: float):
        super().__init__()
        self.mamba = mixer
        self.feed_forward = feed_forward
        self.feed_forward_macaron = feed_forward_macaron
        self.conv_module = conv_module
        self.norm_ff = torch.nn.LayerNorm(size)
        self.norm_mamba = torch.nn.LayerNorm(size)
        if feed_forward_macaron is not None:
            self.norm_ff_macaron = torch.nn.LayerNorm(size)
        if conv_module is not None:
            self.norm_conv = torch.nn.LayerNorm(size)
        self.norm_final = torch.nn.LayerNorm(size)
        self.dropout = torch.nn.Dropout(dropout_rate)
        self.ff_scale = 0.5 if feed_forward_macaron is not None else 1.0

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (batch, T, size), lengths: (batch,); padded frames of the output are zero."""
        if self.feed_forward_macaron is not None:
            x = x + self.ff_scale * self.dropout(self.feed_forward_macaron(self.norm_ff_macaron(x)))
        x = x + self.dropout(self.mamba(self.norm_mamba(x), lengths))
        if self.conv_module is not None:
            mask = length_mask(lengths, x.shape[1])
            x = x + self.dropout(self.conv_module(self.norm_conv(x), mask))
        x = x + self.ff_scale * self.dropout(self.feed_forward(self.norm_ff(x)))
        return mask_frames(self.norm_final(x), lengths)


class ConMambaEncoder(LayerStackEncoder):
    """ConMamba encoder.

    Args:
        input_size: Input feature size.
        output_size: Model size d_model (ConMamba S: 144, L: 512).
        linear_units: FFN hidden size (S: 1024, L: 2048).
        num_blocks: Number of layers.
        dropout_rate: Dropout rate of every sub-layer and the input layer.
        input_layer: ``conv2d``, ``conv2d2``, ``conv2d6``, ``conv2d8``, ``linear``, ``none``.
        macaron_style: Two half-step FFNs (True, as ConMamba) or one FFN.
        activation_type: FFN activation, ``swish``, ``relu`` or ``gelu``.
        use_cnn_module: Use the convolution module.
        cnn_module_kernel: Depthwise kernel size of the convolution module.
        cnn_module_norm: ``batch_norm`` (ESPnet's Conformer) or ``layer_norm``.
        bidirectional: Bidirectional Mamba (True for ConMamba).
        bidirectional_type: ``inner`` (Vim "v2", the ConMamba checkpoints) or ``outer``.
        bidirectional_merge: ``add`` or ``concat`` (``outer`` only).
        d_state: SSM state size (per head with ``mixer: mamba2``; Mamba-2 uses 64-128).
        d_conv: Width of Mamba's causal convolution.
        expand: Mamba's inner size factor.
        interctc_layer_idx: Layers (1-based) whose outputs feed intermediate CTC.
        interctc_use_conditioning: Self-conditioned CTC on those layers.
        mixer: ``mamba`` (Mamba-1 selective scan, ConMamba) or ``mamba2`` (Mamba-2, SSD).
        headdim: Channels per head (``mamba2`` only; divides ``expand * output_size``).
        ngroups: Groups of heads sharing B and C (``mamba2`` only).
        chunk_size: SSD chunk length (``mamba2`` only; speed and memory, not results).

    Raises:
        TypeError: an argument of the wrong type (e.g. ``bidirectional: "false"``).
        ValueError: a size or count below 1, a dropout rate outside [0, 1), an unknown
            choice.
    """

    @typechecked
    def __init__(
        self,
        input_size: int,
        output_size: int = 256,
        linear_units: int = 1024,
        num_blocks: int = 12,
        dropout_rate: float = 0.1,
        input_layer: str = "conv2d",
        macaron_style: bool = True,
        activation_type: str = "swish",
        use_cnn_module: bool = True,
        cnn_module_kernel: int = 31,
        cnn_module_norm: str = "batch_norm",
        bidirectional: bool = True,
        bidirectional_type: str = "inner",
        bidirectional_merge: str = "add",
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        interctc_layer_idx: Optional[List[int]] = None,
        interctc_use_conditioning: bool = False,
        mixer: str = "mamba",
        headdim: int = 64,
        ngroups: int = 1,
        chunk_size: int = 64,
    ):
        super().__init__()
        at_least(1, input_size=input_size, output_size=output_size,
                 linear_units=linear_units, num_blocks=num_blocks)
        probability(dropout_rate=dropout_rate)
        one_of("activation_type", activation_type, ACTIVATIONS)
        self.embed = InputLayer(input_layer, input_size, output_size, dropout_rate)

        def ffn():
            return PositionwiseFeedForward(output_size, linear_units, dropout_rate,
                                           ACTIVATIONS[activation_type]())

        self.encoders = torch.nn.ModuleList(
            ConMambaEncoderLayer(
                output_size,
                build_mixer(output_size, bidirectional=bidirectional,
                            bidirectional_type=bidirectional_type,
                            bidirectional_merge=bidirectional_merge, mixer=mixer,
                            d_state=d_state, d_conv=d_conv, expand=expand, layer_idx=i,
                            headdim=headdim, ngroups=ngroups, chunk_size=chunk_size),
                ffn(),
                ffn() if macaron_style else None,
                ConvolutionModule(output_size, cnn_module_kernel, cnn_module_norm)
                if use_cnn_module else None,
                dropout_rate,
            )
            for i in range(num_blocks)
        )
        self.after_norm = torch.nn.LayerNorm(output_size)
        self._setup(output_size, interctc_layer_idx, interctc_use_conditioning)
        use_fast_dropout(self)
