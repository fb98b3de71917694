"""Decoder ``mamba``: Speech-Mamba's hybrid decoder (causal Mamba + source attention)."""
from typing import Optional, Tuple

import torch

from espnet_mamba.asr.decoder.base import HypState, MambaScorerDecoder
from espnet_mamba.asr.decoder.decoder_layer import MambaDecoderLayer
from espnet_mamba.compat import make_pad_mask


class MambaDecoder(MambaScorerDecoder):
    """Token embedding -> layers of [causal Mamba, source attention, FFN] -> output.

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
        d_state: SSM state size.
        d_conv: Width of Mamba's causal convolution.
        expand: Mamba's inner size factor.
    """

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
    ):
        if attention_heads < 1:
            raise ValueError(f"attention_heads must be >= 1; got {attention_heads}")
        size = encoder_output_size
        super().__init__(vocab_size, size, dropout_rate, [
            MambaDecoderLayer(size, linear_units, attention_heads, dropout_rate,
                              src_attention_dropout_rate, d_state=d_state, d_conv=d_conv,
                              expand=expand, layer_idx=i)
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
        memory_mask = (~make_pad_mask(hlens, maxlen=hs_pad.shape[1]))[:, None, :].to(
            hs_pad.device)
        x = self.embed(ys_in_pad)
        for layer in self.decoders:
            x = layer(x, hs_pad, memory_mask)
        return self.output_layer(self.after_norm(x)), ys_in_lens

    def _step_memory(self, xs: torch.Tensor) -> Optional[torch.Tensor]:
        return xs

    def batch_init_state(self, x: torch.Tensor) -> HypState:
        """Zero states (x: encoder output of one utterance, (T, D))."""
        return self._empty_state(x)
