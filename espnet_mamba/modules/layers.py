"""Layers shared by the encoders: norms, a padding-aware Conformer convolution module,
and a pre-norm residual Mamba layer."""
from typing import Optional

import torch
import torch.nn as nn

from espnet_mamba.checks import one_of
from espnet_mamba.modules.bimamba import build_mixer

NORMS = ("layer_norm", "rms_norm")


def make_norm(kind: str, size: int, eps: float = 1e-5) -> nn.Module:
    """``layer_norm`` (nn.LayerNorm) or ``rms_norm`` (nn.RMSNorm)."""
    one_of("norm", kind, NORMS)
    if kind == "layer_norm":
        return nn.LayerNorm(size, eps=eps)
    return nn.RMSNorm(size, eps=eps)


class ConvolutionModule(nn.Module):
    """Conformer convolution module that ignores padding.

    pointwise conv -> GLU -> (zero padded frames) -> depthwise conv -> norm -> SiLU ->
    pointwise conv.  Zeroing after the GLU (whose bias would otherwise leak into the
    last real frames) makes every real frame see exactly what it would see alone.
    Parameter names follow ESPnet's ``ConvolutionModule``.

    Args:
        channels: Feature size.
        kernel_size: Depthwise kernel size (odd).
        norm: ``batch_norm`` (as ESPnet) or ``layer_norm`` (batch-independent also in
            training).
        bias: Bias in the convolutions.
    """

    def __init__(self, channels: int, kernel_size: int = 31, norm: str = "batch_norm",
                 bias: bool = True):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(f"cnn_module_kernel must be odd and >= 1; got {kernel_size}")
        one_of("cnn_module_norm", norm, ("batch_norm", "layer_norm"))
        self.pointwise_conv1 = nn.Conv1d(channels, 2 * channels, 1, bias=bias)
        self.depthwise_conv = nn.Conv1d(channels, channels, kernel_size,
                                        padding=(kernel_size - 1) // 2, groups=channels,
                                        bias=bias)
        self.norm_type = norm
        self.norm = nn.BatchNorm1d(channels) if norm == "batch_norm" else nn.LayerNorm(channels)
        self.pointwise_conv2 = nn.Conv1d(channels, channels, 1, bias=bias)
        self.activation = nn.SiLU()

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x: (batch, T, channels); mask: (batch, T) True at real frames."""
        x = nn.functional.glu(self.pointwise_conv1(x.transpose(1, 2)), dim=1)
        if mask is not None:
            x = torch.where(mask.unsqueeze(1), x, x.new_zeros(()))
        x = self.depthwise_conv(x)
        if self.norm_type == "batch_norm":
            x = self.norm(x)
        else:
            x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        return self.pointwise_conv2(self.activation(x)).transpose(1, 2)


class MambaLayer(nn.Module):
    """Pre-norm residual Mamba layer: ``x + dropout(mixer(norm(x)))``.

    Args:
        size: Feature size.
        norm: ``layer_norm`` or ``rms_norm``.
        dropout_rate: Dropout on the mixer output.
        **mixer_kwargs: Arguments of :func:`espnet_mamba.modules.build_mixer`
            (``bidirectional``, ``bidirectional_type``, ``bidirectional_merge``,
            ``d_state``, ``d_conv``, ``expand`` ...).
    """

    def __init__(self, size: int, norm: str = "layer_norm", dropout_rate: float = 0.1,
                 **mixer_kwargs):
        super().__init__()
        self.norm = make_norm(norm, size)
        self.mixer = build_mixer(size, **mixer_kwargs)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        return x + self.dropout(self.mixer(self.norm(x), lengths))

    def forward_chunk(self, x: torch.Tensor, state=None):
        """Streaming (unidirectional only): returns output and the mixer's new state."""
        y, state = self.mixer.forward_chunk(self.norm(x), state)
        return x + self.dropout(y), state

