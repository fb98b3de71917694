"""Input layers of the encoders, with output lengths from the conv arithmetic.

ESPnet's own encoders take output lengths from a strided copy of the padding mask,
which over-counts by one frame for some lengths inside a padded batch (a 120-frame
input gives 30 frames in a 200-frame batch but 29 alone).  Here lengths follow the
convolutions exactly, so every output frame counted as real saw only real input.

Without gradients (decoding, but not in an exported graph), the ``conv2d*`` layers run
over time in pieces of :attr:`InputLayer.inference_chunk` output frames (each piece with
the input frames its receptive field covers; the result is the same): their first
feature map would otherwise hold ``output_size x T/2 x input_size/2`` floats, 1.3 GB for
ten minutes at 144 channels.
"""
from typing import List, Tuple

import torch

from espnet_mamba.compat import (
    Conv2dSubsampling,
    Conv2dSubsampling2,
    Conv2dSubsampling6,
    Conv2dSubsampling8,
    TooShortUttError,
)
from espnet_mamba.ops.scan_export import is_exporting

# (kernel, stride) of each time-axis convolution of ESPnet's Conv2dSubsampling*.
_CONV2D = {
    "conv2d": (Conv2dSubsampling, [(3, 2), (3, 2)]),
    "conv2d2": (Conv2dSubsampling2, [(3, 2), (3, 1)]),
    "conv2d6": (Conv2dSubsampling6, [(3, 2), (5, 3)]),
    "conv2d8": (Conv2dSubsampling8, [(3, 2), (3, 2), (3, 2)]),
}
INPUT_LAYERS = tuple(_CONV2D) + ("linear", "none")


def conv_output_length(lengths: torch.Tensor, convs: List[Tuple[int, int]]) -> torch.Tensor:
    """Frames left after unpadded convolutions: ``L -> (L - kernel) // stride + 1``."""
    for kernel, stride in convs:
        lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
    return lengths.clamp(min=0)


def receptive_field(convs: List[Tuple[int, int]]) -> Tuple[int, int]:
    """``(field, stride)``: output frame ``j`` of the stack sees input frames
    ``j * stride`` to ``j * stride + field - 1``."""
    field, total_stride = 1, 1
    for kernel, stride in convs:
        field += (kernel - 1) * total_stride
        total_stride *= stride
    return field, total_stride


class InputLayer(torch.nn.Module):
    """Frontend features -> model features, with exact output lengths.

    Args:
        input_layer: ``conv2d`` (4x), ``conv2d2`` (2x), ``conv2d6`` (6x), ``conv2d8``
            (8x), ``linear`` or ``none`` (``input_size`` must equal ``output_size``).
        input_size: Input feature size.
        output_size: Output feature size.
        dropout_rate: Dropout after the layer.
    """

    def __init__(self, input_layer: str, input_size: int, output_size: int,
                 dropout_rate: float = 0.1):
        super().__init__()
        if input_layer not in INPUT_LAYERS:
            raise ValueError(f"input_layer must be one of {INPUT_LAYERS}; got {input_layer!r}")
        self.input_layer = input_layer
        if input_layer in _CONV2D:
            cls, self.convs = _CONV2D[input_layer]
            if conv_output_length(torch.tensor(input_size), self.convs) < 1:
                raise ValueError(f"input_size {input_size} is too small for {input_layer}")
            self.embed = cls(input_size, output_size, dropout_rate,
                             torch.nn.Dropout(dropout_rate))
        elif input_layer == "linear":
            self.convs = []
            self.embed = torch.nn.Sequential(
                torch.nn.Linear(input_size, output_size), torch.nn.LayerNorm(output_size),
                torch.nn.Dropout(dropout_rate), torch.nn.ReLU(),
            )
        else:
            if input_size != output_size:
                raise ValueError(
                    f"input_layer 'none' needs input_size == output_size; got {input_size} "
                    f"and {output_size}"
                )
            self.convs = []
            self.embed = torch.nn.Identity()
        length = 1
        while conv_output_length(torch.tensor(length), self.convs) < 1:
            length += 1
        self.min_length = length  # fewest input frames that give one output frame

    inference_chunk = 1024  # output frames per piece of the conv2d layers without gradients

    def _chunked_conv(self, xs: torch.Tensor) -> torch.Tensor:
        """The conv2d layers over ``inference_chunk`` output frames at a time."""
        frames = int(self.output_lengths(torch.tensor(xs.shape[1])))
        field, stride = receptive_field(self.convs)
        pieces = []
        for start in range(0, frames, self.inference_chunk):
            stop = min(start + self.inference_chunk, frames)
            pieces.append(self.embed(xs[:, start * stride:(stop - 1) * stride + field], None)[0])
        return torch.cat(pieces, dim=1)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return conv_output_length(lengths, self.convs)

    def forward(self, xs: torch.Tensor, ilens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(batch, T, input_size) -> (batch, T', output_size), lengths (batch,).

        Raises:
            TooShortUttError: the padded length T is below :attr:`min_length` (as
                ESPnet's Conformer, only the batch's padded length is checked: a shorter
                utterance gets zero output frames).
        """
        if xs.shape[1] < self.min_length:
            raise TooShortUttError(
                f"has {xs.shape[1]} frames and is too short for {self.input_layer} "
                f"subsampling (it needs at least {self.min_length} frames)",
                xs.shape[1],
                self.min_length,
            )
        if self.convs and not torch.is_grad_enabled() and not is_exporting():
            xs = self._chunked_conv(xs)
        elif self.convs:
            xs, _ = self.embed(xs, None)
        else:
            xs = self.embed(xs)
        return xs, self.output_lengths(ilens)
