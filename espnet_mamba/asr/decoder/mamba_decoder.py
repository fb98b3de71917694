"""Decoder ``mamba``: Speech-Mamba's hybrid decoder (causal Mamba + source attention)."""
from typing import Optional, Tuple

import torch
from typeguard import typechecked

from espnet_mamba.asr.decoder.base import HypState, MambaScorerDecoder, check_decoder_args
from espnet_mamba.asr.decoder.decoder_layer import MambaDecoderLayer
from espnet_mamba.checks import at_least, divides, probability
from espnet_mamba.modules.padding import check_lengths, length_mask, mask_frames


class MambaDecoder(MambaScorerDecoder):
    """Token embedding -> layers of [causal Mamba, source attention, FFN] -> output
    (``mixer: mamba2``: Mamba-2 blocks instead).

    Mamba replaces the decoder's self-attention (no positional encoding needed); each
    layer attends to the encoder output. Beam search carries each layer's fixed-size
    Mamba state, so a decoding step costs the same at any prefix length.

    Args:
        vocab_size: Output vocabulary size.
        encoder_output_size: Encoder output size (the attention memory size).
        attention_heads: Source-attention heads.
        linear_units: FFN hidden size.
        num_blocks: Number of layers.
        dropout_rate: Dropout rate of the sub-layers and the embedding.
        src_attention_dropout_rate: Dropout inside the source attention.
        d_state: SSM state size (per head with ``mixer: mamba2``).
        d_conv: Width of the mixer's causal convolution.
        expand: The mixer's inner size factor.
        mixer: ``mamba`` (Mamba-1 selective scan) or ``mamba2`` (Mamba-2, SSD).
        headdim: Channels per head (``mamba2`` only; divides ``expand * size``).
        ngroups: Groups of heads sharing B and C (``mamba2`` only).
        chunk_size: SSD chunk length (``mamba2`` only; speed and memory, not results).

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a size or count below 1, heads not dividing the size, a dropout
            rate outside [0, 1), an unknown mixer, ``headdim`` not dividing the inner
            size.
    """

    @typechecked
    def __init__(
        self,
        vocab_size: int,
        encoder_output_size: int,
        attention_heads: int = 4,
        linear_units: int = 2048,
        num_blocks: int = 6,
        dropout_rate: float = 0.1,
        src_attention_dropout_rate: float = 0.1,
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
        at_least(1, attention_heads=attention_heads)
        divides("attention_heads", attention_heads, "encoder_output_size", encoder_output_size)
        probability(src_attention_dropout_rate=src_attention_dropout_rate)
        size = encoder_output_size
        mixer_conf = dict(mixer=mixer, d_state=d_state, d_conv=d_conv, expand=expand,
                          headdim=headdim, ngroups=ngroups, chunk_size=chunk_size)
        super().__init__(vocab_size, size, dropout_rate, [
            MambaDecoderLayer(size, linear_units, attention_heads, dropout_rate,
                              src_attention_dropout_rate, layer_idx=i, **mixer_conf)
            for i in range(num_blocks)
        ])

    def forward(
        self,
        hs_pad: torch.Tensor,
        hlens: torch.Tensor,
        ys_in_pad: torch.Tensor,
        ys_in_lens: torch.Tensor,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced forward.

        Args:
            hs_pad: Encoder output, (batch, T, encoder_output_size).
            hlens: Encoder output lengths, (batch,).
            ys_in_pad: Input tokens (<sos> + labels), (batch, L).
            ys_in_lens: Input token lengths, (batch,).

        Returns:
            Logits (batch, L, vocab_size) and ``ys_in_lens``.
        """
        check_lengths(hlens, hs_pad, "hlens")
        memory_mask = length_mask(hlens.to(hs_pad.device), hs_pad.shape[1])[:, None, :]
        hs_pad = mask_frames(hs_pad, hlens)  # attention weighs padding by 0: keep it finite
        x = self.embed(ys_in_pad)
        for layer in self.decoders:
            x = layer(x, hs_pad, memory_mask)
        return self.output_layer(self.after_norm(x)), ys_in_lens

    def _step_memory(self, xs: torch.Tensor) -> Optional[torch.Tensor]:
        return xs

    def batch_init_state(self, x: torch.Tensor) -> HypState:
        """Zero states (x: encoder output of one utterance, (T, D))."""
        return self._empty_state(x)
