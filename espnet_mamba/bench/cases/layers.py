"""Single layers (``python -m espnet_mamba.bench block``; attention also in ``scan``):
Mamba blocks against self-attention and a Transformer layer at the same width."""
import torch

from espnet_mamba.bench.cases import Fns, backward_of_sum as _backward


def attention(device: str, batch: int, dim: int, length: int, heads: int = 4, **_) -> Fns:
    """One ``torch.nn.MultiheadAttention(dim, heads)`` self-attention."""
    mha = torch.nn.MultiheadAttention(dim, heads, batch_first=True).to(device)
    x = torch.randn(batch, length, dim, device=device, requires_grad=True)
    return (lambda: mha(x, x, x, need_weights=False)[0]), _backward


def mamba_block(device: str, batch: int, dim: int, length: int, state: int = 16,
                bidirectional: bool = False, **_) -> Fns:
    """One Mamba block (d_model ``dim``, expand 2), or the bidirectional inner block."""
    from espnet_mamba.modules import BiMambaInner, Mamba

    block = (BiMambaInner if bidirectional else Mamba)(dim, d_state=state).to(device)
    x = torch.randn(batch, length, dim, device=device, requires_grad=True)
    return (lambda: block(x)), _backward


def mamba2_block(device: str, batch: int, dim: int, length: int, state: int = 64,
                 **_) -> Fns:
    """One Mamba-2 block (d_model ``dim``, expand 2, headdim 64, chunk 64)."""
    from espnet_mamba.modules.mamba2 import Mamba2

    block = Mamba2(dim, d_state=state, headdim=64, chunk_size=64).to(device)
    x = torch.randn(batch, length, dim, device=device, requires_grad=True)
    return (lambda: block(x)), _backward


def transformer_layer(device: str, batch: int, dim: int, length: int, heads: int = 4,
                      **_) -> Fns:
    """One pre-norm ``torch.nn.TransformerEncoderLayer`` (FFN 4 x dim)."""
    layer = torch.nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0,
                                             batch_first=True, norm_first=True).to(device)
    x = torch.randn(batch, length, dim, device=device, requires_grad=True)
    return (lambda: layer(x)), _backward
