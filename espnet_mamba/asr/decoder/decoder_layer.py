"""Decoder layer shared by the ``mamba`` and ``cross_mamba`` decoders."""
from typing import Optional, Tuple

import torch

from espnet_mamba.compat import MultiHeadedAttention, PositionwiseFeedForward
from espnet_mamba.modules.bimamba import MixerState, build_mixer


class MambaDecoderLayer(torch.nn.Module):
    """Pre-norm residual layer: causal Mamba (or Mamba-2) -> [source attention] -> FFN.

    Args:
        size: Model size.
        linear_units: FFN hidden size.
        attention_heads: Heads of the source attention; ``0`` leaves it out (CrossMamba,
            where the encoder memory is a prefix of the sequence instead).
        dropout_rate: Dropout on each sub-layer's output.
        src_attention_dropout_rate: Dropout inside the source attention.
        **mamba_kwargs: Arguments of :func:`espnet_mamba.modules.build_mixer` for a
            unidirectional block (``mixer``, ``d_state``, ``headdim`` ...).
    """

    def __init__(self, size: int, linear_units: int = 1024, attention_heads: int = 4,
                 dropout_rate: float = 0.1, src_attention_dropout_rate: float = 0.1,
                 **mamba_kwargs):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(size)
        self.mamba = build_mixer(size, **mamba_kwargs)
        if attention_heads > 0:
            self.norm2 = torch.nn.LayerNorm(size)
            self.src_attn = MultiHeadedAttention(attention_heads, size,
                                                 src_attention_dropout_rate)
        else:
            self.src_attn = None
        self.norm3 = torch.nn.LayerNorm(size)
        self.feed_forward = PositionwiseFeedForward(size, linear_units, dropout_rate)
        self.dropout = torch.nn.Dropout(dropout_rate)

    def _rest(self, x: torch.Tensor, memory: Optional[torch.Tensor],
              memory_mask: Optional[torch.Tensor]) -> torch.Tensor:
        if self.src_attn is not None:
            q = self.norm2(x)
            x = x + self.dropout(self.src_attn(q, memory, memory, memory_mask))
        return x + self.dropout(self.feed_forward(self.norm3(x)))

    def forward(self, x: torch.Tensor, memory: Optional[torch.Tensor] = None,
                memory_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x: (batch, L, size); memory: (batch, T, size); memory_mask: (batch, 1, T)."""
        return self._rest(x + self.dropout(self.mamba(self.norm1(x))), memory, memory_mask)

    def forward_chunk(self, x: torch.Tensor, state: Optional[MixerState],
                      memory: Optional[torch.Tensor] = None,
                      memory_mask: Optional[torch.Tensor] = None
                      ) -> Tuple[torch.Tensor, MixerState]:
        """Continue after ``state``: returns the output and the mixer's state after x."""
        y, state = self.mamba.forward_chunk(self.norm1(x), state)
        return self._rest(x + self.dropout(y), memory, memory_mask), state
