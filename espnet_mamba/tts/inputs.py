"""Input checks and the end-of-sentence token shared by the TTS models."""
import torch
import torch.nn.functional as F

from espnet_mamba.modules.padding import check_lengths, length_mask


def check_text(text: torch.Tensor, text_lengths: torch.Tensor, idim: int, model: str) -> None:
    """Raise ValueError for an empty utterance or a token id outside ``[0, idim)``,
    naming ``model``."""
    check_lengths(text_lengths, text, "text_lengths")
    if text_lengths.numel() == 0 or int(text_lengths.min()) < 1:
        raise ValueError(f"{model} got an empty text (no tokens to synthesise)")
    real = text[length_mask(text_lengths, text.shape[1])]
    bad = real[(real < 0) | (real >= idim)]
    if bad.numel() > 0:
        raise ValueError(
            f"token id {int(bad[0])} is outside the vocabulary [0, {idim}) "
            "(does the token list match the model's?)"
        )


def with_eos(text: torch.Tensor, text_lengths: torch.Tensor, eos: int) -> torch.Tensor:
    """Append ``eos`` after each utterance's last token (padding stays 0):
    (batch, Lmax) -> (batch, Lmax + 1)."""
    return F.pad(text, [0, 1], value=0).scatter(1, text_lengths.unsqueeze(1), eos)
