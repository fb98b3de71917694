"""Decoder ``cross_mamba``: Speech Slytherin's CrossMamba (memory as a causal prefix)."""
from typing import Optional, Tuple

import torch
from typeguard import typechecked

from espnet_mamba.asr.decoder.base import HypState, MambaScorerDecoder, check_decoder_args
from espnet_mamba.asr.decoder.decoder_layer import MambaDecoderLayer
from espnet_mamba.checks import at_least
from espnet_mamba.modules.packing import pack_prefix
from espnet_mamba.modules.padding import check_lengths


class CrossMambaDecoder(MambaScorerDecoder):
    """A causal Mamba (or, with ``mixer: mamba2``, Mamba-2) over ``[encoder memory ;
    target embeddings]``.

    The target positions are kept as the output. Each utterance's memory is its real
    frames only (targets follow the last real frame). In beam search the memory is
    scanned once per utterance (:meth:`batch_init_state`) and its end states are
    reused: decoding costs O(S + T), not O(T (S + T)).

    Args:
        vocab_size: Output vocabulary size.
        encoder_output_size: Encoder output size.
        output_size: Decoder model size (``None``: ``encoder_output_size``; otherwise
            the memory is projected).
        linear_units: FFN hidden size.
        num_blocks: Number of layers.
        dropout_rate: Dropout rate.
        d_state: SSM state size (per head with ``mixer: mamba2``).
        d_conv: Width of the mixer's causal convolution.
        expand: The mixer's inner size factor.
        mixer: ``mamba`` (Mamba-1 selective scan) or ``mamba2`` (Mamba-2, SSD).
        headdim: Channels per head (``mamba2`` only; divides ``expand * size``).
        ngroups: Groups of heads sharing B and C (``mamba2`` only).
        chunk_size: SSD chunk length (``mamba2`` only; speed and memory, not results).

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a size or count below 1, a dropout rate outside [0, 1), an unknown
            mixer, ``headdim`` not dividing the inner size.
    """

    @typechecked
    def __init__(
        self,
        vocab_size: int,
        encoder_output_size: int,
        output_size: Optional[int] = None,
        linear_units: int = 2048,
        num_blocks: int = 6,
        dropout_rate: float = 0.1,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        mixer: str = "mamba",
        headdim: int = 64,
        ngroups: int = 1,
        chunk_size: int = 64,
    ):
        check_decoder_args(vocab_size, encoder_output_size, linear_units, num_blocks,
                           dropout_rate)
        if output_size is not None:
            at_least(1, output_size=output_size)
        size = output_size or encoder_output_size
        super().__init__(vocab_size, size, dropout_rate, [
            MambaDecoderLayer(size, linear_units, 0, dropout_rate, layer_idx=i,
                              mixer=mixer, d_state=d_state, d_conv=d_conv, expand=expand,
                              headdim=headdim, ngroups=ngroups, chunk_size=chunk_size)
            for i in range(num_blocks)
        ])
        self.memory_proj = (torch.nn.Linear(encoder_output_size, size)
                            if size != encoder_output_size else torch.nn.Identity())

    def forward(
        self,
        hs_pad: torch.Tensor,
        hlens: torch.Tensor,
        ys_in_pad: torch.Tensor,
        ys_in_lens: torch.Tensor,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced forward; arguments and returns as :class:`MambaDecoder`."""
        check_lengths(hlens, hs_pad, "hlens")
        x, token_pos = pack_prefix(self.memory_proj(hs_pad), hlens, self.embed(ys_in_pad))
        for layer in self.decoders:
            x = layer(x)
        x = x.gather(1, token_pos.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        return self.output_layer(self.after_norm(x)), ys_in_lens

    def _step_memory(self, xs: torch.Tensor) -> Optional[torch.Tensor]:
        return None

    def batch_init_state(self, x: torch.Tensor) -> HypState:
        """Scan one utterance's memory (x: (T, D)) through every layer once."""
        h = self.memory_proj(x).unsqueeze(0)
        states = []
        for layer in self.decoders:
            h, state = layer.forward_chunk(h, None)
            states.append((state.conv[0], state.ssm[0]))
        return states
