"""Encoder ``mamba``: subsampling + a stack of pre-norm residual Mamba layers."""
import math
from typing import List, NamedTuple, Optional, Tuple

import torch
from typeguard import typechecked

from espnet_mamba.asr.encoder.base import LayerStackEncoder
from espnet_mamba.asr.encoder.subsampling import InputLayer
from espnet_mamba.checks import at_least, probability
from espnet_mamba.modules.dropout import use_fast_dropout
from espnet_mamba.modules.layers import MambaLayer, make_norm
from espnet_mamba.modules.mamba import MambaState


class MambaEncoderState(NamedTuple):
    """Streaming state of a causal :class:`MambaEncoder` (its size does not grow).

    frames: Input frames the subsampling has not consumed yet, (batch, n, input_size)
        with n < receptive field + stride of the input layer.
    layers: Each layer's :class:`MambaState` (``Mamba2State`` with ``mixer: mamba2``).
    """

    frames: torch.Tensor
    layers: Tuple[MambaState, ...]


class MambaEncoder(LayerStackEncoder):
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
        d_state: SSM state size (per head with ``mixer: mamba2``; Mamba-2 uses 64-128).
        d_conv: Width of the causal depthwise convolution.
        expand: Inner size factor.
        norm: ``layer_norm`` or ``rms_norm`` (each layer and the final norm).
        mixer: ``mamba`` (Mamba-1 selective scan) or ``mamba2`` (Mamba-2, SSD).
        headdim: Channels per head (``mamba2`` only; divides ``expand * output_size``).
        ngroups: Groups of heads sharing B and C (``mamba2`` only).
        chunk_size: SSD chunk length (``mamba2`` only; speed and memory, not results).
        dropout_rate: Dropout after the input layer and on each layer's output.
        interctc_layer_idx: Layers (1-based) whose outputs feed intermediate CTC.
        interctc_use_conditioning: Self-conditioned CTC on those layers.

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
        mixer: str = "mamba",
        headdim: int = 64,
        ngroups: int = 1,
        chunk_size: int = 64,
    ):
        super().__init__()
        at_least(1, input_size=input_size, output_size=output_size, num_blocks=num_blocks)
        probability(dropout_rate=dropout_rate)
        self.bidirectional = bidirectional
        self.embed = InputLayer(input_layer, input_size, output_size, dropout_rate)
        self.encoders = torch.nn.ModuleList(
            MambaLayer(
                output_size, norm=norm, dropout_rate=dropout_rate,
                bidirectional=bidirectional, bidirectional_type=bidirectional_type,
                bidirectional_merge=bidirectional_merge, mixer=mixer, d_state=d_state,
                d_conv=d_conv, expand=expand, layer_idx=i, headdim=headdim, ngroups=ngroups,
                chunk_size=chunk_size,
            )
            for i in range(num_blocks)
        )
        self.after_norm = make_norm(norm, output_size)
        self._setup(output_size, interctc_layer_idx, interctc_use_conditioning)
        use_fast_dropout(self)

    def forward_chunk(
        self,
        xs: torch.Tensor,
        state: Optional[MambaEncoderState] = None,
        ctc=None,
    ) -> Tuple[torch.Tensor, MambaEncoderState]:
        """Streaming: encode the next input frames of a stream (causal encoders only).

        The input layer runs on the frames it has not consumed yet plus ``xs``; output
        frame j of a subsampling with total stride S and receptive field R covers input
        frames S*j .. S*j+R-1, so the frames before the next output's first one are
        dropped and the rest are kept for the next call.  Each layer carries its
        :class:`MambaState`.  Concatenating the outputs over a stream equals
        :meth:`forward` on the whole stream.

        Args:
            xs: Next input frames, (batch, T, input_size); T may be 0 or fewer than
                the subsampling's receptive field.
            state: State returned by the previous call; ``None`` starts a stream.
            ctc: ESPnet CTC module, needed for ``interctc_use_conditioning``
                (intermediate CTC outputs themselves are not returned).

        Returns:
            ``(out, state)``: the output frames completed by this chunk,
            (batch, T', output_size) with T' possibly 0, and the state for the next call.

        Raises:
            RuntimeError: the encoder is bidirectional.
        """
        if self.bidirectional:
            raise RuntimeError(
                "forward_chunk needs a causal MambaEncoder (bidirectional: false); a "
                "bidirectional encoder needs the whole utterance"
            )
        if state is None:
            state = MambaEncoderState(xs[:, :0], (None,) * len(self.encoders))
        frames = torch.cat([state.frames, xs], dim=1)
        if frames.shape[1] < self.embed.min_length:
            return frames.new_zeros(frames.shape[0], 0, self._output_size), state._replace(
                frames=frames)
        out, _ = self.embed(frames, torch.full((frames.shape[0],), frames.shape[1],
                                               device=frames.device))
        stride = math.prod(s for _, s in self.embed.convs)
        rest = frames[:, out.shape[1] * stride:]
        layer_states = []
        for i, (layer, layer_state) in enumerate(zip(self.encoders, state.layers)):
            out, layer_state = layer.forward_chunk(out, layer_state)
            out = self._interctc(i, out, ctc, [])
            layer_states.append(layer_state)
        return self.after_norm(out), MambaEncoderState(rest, tuple(layer_states))
