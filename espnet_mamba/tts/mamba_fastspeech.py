"""TTS model ``mamba_fastspeech``: a non-autoregressive Mamba TTS (FastSpeech layout).

Text (with ``<sos/eos>``) -> token embedding -> bidirectional Mamba encoder -> duration
predictor -> length regulator (each token's state repeated for its frames) ->
bidirectional Mamba decoder over the frames -> linear mel -> bidirectional Mamba
post-net (residual).  Training takes teacher durations, one per token and one for
``<sos/eos>`` summing to the mel length, as ESPnet's FastSpeech does (a ``durations``
file: ``python -m espnet_mamba.bin.align_durations`` makes them by CTC forced alignment
with an ASR model); the loss is L1 on the mel before and after the post-net plus the
duration predictor's MSE in the log domain (ESPnet's ``FeedForwardTransformerLoss``).
Inference needs no stop decision: the predicted durations fix the length.

Every layer sees only the real tokens and frames of its utterance (the bidirectional
Mamba layers take the lengths; the duration predictor zeroes padding before each
convolution, which ESPnet 202511's ``DurationPredictor`` does not), so a padded batch
gives each utterance's output alone.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.tts.abs_tts import AbsTTS
from typeguard import typechecked

from espnet_mamba.checks import at_least, probability
from espnet_mamba.compat import legacy_nets
from espnet_mamba.modules.dropout import use_fast_dropout
from espnet_mamba.modules.layers import MambaLayer, make_norm
from espnet_mamba.modules.padding import check_lengths, length_mask, mask_frames
from espnet_mamba.tts.inputs import check_text, with_eos
from espnet_mamba.tts.mamba_tts import MambaPostnet

LengthRegulator = legacy_nets("pytorch_backend.fastspeech.length_regulator").LengthRegulator
FeedForwardTransformerLoss = legacy_nets(
    "pytorch_backend.e2e_tts_fastspeech").FeedForwardTransformerLoss


class DurationPredictor(nn.Module):
    """Log-duration of each token: ``layers`` x (Conv1d, ReLU, LayerNorm, Dropout), then
    Linear; padding is zeroed before every convolution.

    Args:
        idim: Input size.
        layers: Number of convolution layers.
        chans: Channels of the convolutions.
        kernel_size: Convolution width (odd).
        dropout_rate: Dropout after each layer.
        offset: Durations are predicted as ``log(d + offset)``.
    """

    def __init__(self, idim: int, layers: int = 2, chans: int = 256, kernel_size: int = 3,
                 dropout_rate: float = 0.1, offset: float = 1.0):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 != 1:
            raise ValueError(f"duration_predictor_kernel_size must be odd; got {kernel_size}")
        self.offset = offset
        self.convs = nn.ModuleList(
            nn.Conv1d(idim if i == 0 else chans, chans, kernel_size, padding=kernel_size // 2)
            for i in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(chans) for _ in range(layers))
        self.dropout = nn.Dropout(dropout_rate)
        self.linear = nn.Linear(chans if layers > 0 else idim, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (batch, L, idim) -> log(d + offset) (batch, L), zero past ``lengths``."""
        for conv, norm in zip(self.convs, self.norms):
            x = mask_frames(x, lengths)
            x = self.dropout(norm(torch.relu(conv(x.transpose(1, 2))).transpose(1, 2)))
        return mask_frames(self.linear(x).squeeze(-1), lengths)

    def durations(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Frames per token, rounded and at least 0: (batch, L) long."""
        return torch.clamp(torch.round(self(x, lengths).exp() - self.offset), min=0).long()


class MambaStack(nn.Module):
    """``blocks`` bidirectional Mamba layers and a final norm over a padded batch.

    Args:
        size: Feature size.
        blocks: Number of layers.
        norm: ``layer_norm`` or ``rms_norm``.
        dropout_rate: Dropout on each layer's output.
        **mamba_kwargs: ``bidirectional_type``, ``mixer``, ``d_state``, ``d_conv``,
            ``expand`` (and Mamba-2's ``headdim``, ``ngroups``, ``chunk_size``).
    """

    def __init__(self, size: int, blocks: int, norm: str = "layer_norm",
                 dropout_rate: float = 0.1, **mamba_kwargs):
        super().__init__()
        self.layers = nn.ModuleList(
            MambaLayer(size, norm=norm, dropout_rate=dropout_rate, bidirectional=True,
                       layer_idx=i, **mamba_kwargs)
            for i in range(blocks))
        self.norm = make_norm(norm, size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (batch, T, size) -> (batch, T, size), zero past ``lengths``."""
        x = mask_frames(x, lengths)
        for layer in self.layers:
            x = layer(x, lengths)
        return mask_frames(self.norm(x), lengths)


class MambaFastSpeech(AbsTTS):
    """Non-autoregressive Mamba TTS with a duration predictor (see the module docstring).

    Args:
        idim: Vocabulary size; the last id (``idim - 1``, ESPnet's ``<sos/eos>``) ends
            the text, id 0 pads.
        odim: Mel size.
        adim: Model size of the encoder and decoder stacks.
        encoder_blocks: Bidirectional Mamba layers over the tokens.
        decoder_blocks: Bidirectional Mamba layers over the frames.
        d_state: SSM state size (all blocks; per head with ``mixer: mamba2``).
        d_conv: Causal convolution width (all blocks).
        expand: Inner size factor (all blocks).
        mixer: ``mamba`` (Mamba-1 selective scan) or ``mamba2`` (Mamba-2, SSD).
        headdim: Channels per head (``mamba2`` only).
        ngroups: Groups of heads sharing B and C (``mamba2`` only).
        chunk_size: SSD chunk length (``mamba2`` only; speed and memory, not results).
        bidirectional_type: ``inner`` or ``outer`` (see ``build_mixer``).
        norm: ``layer_norm`` or ``rms_norm``.
        dropout_rate: Dropout on the token embedding and each Mamba layer's output.
        duration_predictor_layers: Convolution layers of the duration predictor.
        duration_predictor_chans: Their channels.
        duration_predictor_kernel_size: Their width (odd).
        duration_predictor_dropout_rate: Their dropout.
        postnet_layers: Bidirectional Mamba layers of the post-net (0: no post-net).
        postnet_units: Model size of the post-net.
        postnet_dropout_rate: Dropout in the post-net.
        use_masking: Ignore padded frames and tokens in the loss.
        use_weighted_masking: Weight each utterance equally in the loss.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a size or count out of range, a dropout rate outside [0, 1), an
            unknown choice, an even duration predictor kernel.
    """

    @typechecked
    def __init__(
        self,
        idim: int,
        odim: int,
        adim: int = 256,
        encoder_blocks: int = 4,
        decoder_blocks: int = 4,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        mixer: str = "mamba",
        headdim: int = 64,
        ngroups: int = 1,
        chunk_size: int = 64,
        bidirectional_type: str = "inner",
        norm: str = "layer_norm",
        dropout_rate: float = 0.1,
        duration_predictor_layers: int = 2,
        duration_predictor_chans: int = 256,
        duration_predictor_kernel_size: int = 3,
        duration_predictor_dropout_rate: float = 0.1,
        postnet_layers: int = 1,
        postnet_units: int = 128,
        postnet_dropout_rate: float = 0.1,
        use_masking: bool = True,
        use_weighted_masking: bool = False,
    ):
        super().__init__()
        if idim < 2:
            raise ValueError(f"idim must be >= 2 (padding and <sos/eos>); got {idim}")
        at_least(1, odim=odim, adim=adim, encoder_blocks=encoder_blocks,
                 decoder_blocks=decoder_blocks, duration_predictor_chans=duration_predictor_chans,
                 postnet_units=postnet_units)
        at_least(0, duration_predictor_layers=duration_predictor_layers,
                 postnet_layers=postnet_layers)
        probability(dropout_rate=dropout_rate,
                    duration_predictor_dropout_rate=duration_predictor_dropout_rate,
                    postnet_dropout_rate=postnet_dropout_rate)
        self.idim, self.odim, self.eos = idim, odim, idim - 1
        # one speaker, one language (ESPnet's Text2Speech reads these to know)
        self.spks = self.langs = self.spk_embed_dim = None
        mixer_kwargs = dict(mixer=mixer, d_state=d_state, d_conv=d_conv, expand=expand,
                            headdim=headdim, ngroups=ngroups, chunk_size=chunk_size)
        mamba_kwargs = dict(mixer_kwargs, bidirectional_type=bidirectional_type)
        self.embed = nn.Sequential(nn.Embedding(idim, adim, padding_idx=0),
                                   nn.Dropout(dropout_rate))
        self.encoder = MambaStack(adim, encoder_blocks, norm, dropout_rate, **mamba_kwargs)
        self.duration_predictor = DurationPredictor(
            adim, duration_predictor_layers, duration_predictor_chans,
            duration_predictor_kernel_size, duration_predictor_dropout_rate)
        self.length_regulator = LengthRegulator()
        self.decoder = MambaStack(adim, decoder_blocks, norm, dropout_rate, **mamba_kwargs)
        self.feat_out = nn.Linear(adim, odim)
        self.postnet = (
            MambaPostnet(odim, postnet_units, postnet_layers, bidirectional_type, norm,
                         postnet_dropout_rate, **mixer_kwargs)
            if postnet_layers > 0 else None
        )
        self.criterion = FeedForwardTransformerLoss(use_masking=use_masking,
                                                    use_weighted_masking=use_weighted_masking)
        use_fast_dropout(self)

    def _encode(self, text: torch.Tensor, text_lengths: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Token states of ``[text ; <sos/eos>]`` (batch, L + 1, adim) and their lengths."""
        ilens = text_lengths + 1
        return self.encoder(self.embed(with_eos(text, text_lengths, self.eos)), ilens), ilens

    def _decode(self, hs: torch.Tensor, ds: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Frames from token states and durations: after-, before-post-net mel
        (batch, Tmax, odim) and the frame counts."""
        olens = ds.sum(dim=1)
        frames = self.length_regulator(hs, ds)  # (batch, Tmax, adim)
        before = mask_frames(self.feat_out(self.decoder(frames, olens)), olens)
        after = before if self.postnet is None else before + self.postnet(before, olens)
        return after, before, olens

    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        durations: Optional[torch.Tensor] = None,
        durations_lengths: Optional[torch.Tensor] = None,
        joint_training: bool = False,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Loss of a padded batch.

        Args:
            text: (batch, Lmax) token ids; text_lengths: (batch,).
            feats: (batch, Tmax, odim) target mel; feats_lengths: (batch,).
            durations: (batch, Lmax + 1) frames per token and for ``<sos/eos>``, each
                utterance's summing to its ``feats_lengths``; durations_lengths: (batch,),
                ``text_lengths + 1``.
            joint_training: Return the after-post-net mel instead of the batch weight.
            **kwargs: Other ESPnet inputs (spembs, sids, lids, pitch, ...), ignored.

        Returns:
            loss, stats (l1_loss, duration_loss, loss), and the batch size as weight (or
            the mel outputs with ``joint_training``).

        Raises:
            ValueError: no durations, empty text, unknown token id, durations that do
                not match the text or the mel length.
        """
        if durations is None or durations_lengths is None:
            raise ValueError("mamba_fastspeech trains on teacher durations: give the "
                             "training and validation sets a 'durations' file "
                             "(python -m espnet_mamba.bin.align_durations)")
        text = text[:, : int(text_lengths.max())]
        feats = feats[:, : int(feats_lengths.max())]
        check_text(text, text_lengths, self.idim, "MambaFastSpeech")
        check_lengths(feats_lengths, feats, "feats_lengths")
        if not torch.equal(durations_lengths, text_lengths + 1):
            raise ValueError("durations need one value per token plus one for <sos/eos> "
                             f"(got {durations_lengths.tolist()} for texts of "
                             f"{text_lengths.tolist()} tokens)")
        ds = durations[:, : int(durations_lengths.max())].long()
        ds = ds * length_mask(durations_lengths, ds.shape[1])  # padding may hold anything
        if not torch.equal(ds.sum(dim=1), feats_lengths):
            raise ValueError(f"durations sum to {ds.sum(dim=1).tolist()} frames, the mel "
                             f"has {feats_lengths.tolist()} (made with another hop or "
                             "audio?)")
        hs, ilens = self._encode(text, text_lengths)
        d_outs = self.duration_predictor(hs, ilens)
        after, before, olens = self._decode(hs, ds)
        ys = mask_frames(feats, feats_lengths)
        l1_loss, duration_loss = self.criterion(after, before, d_outs, ys, ds, ilens, olens)
        loss = l1_loss + duration_loss
        stats = dict(l1_loss=l1_loss.item(), duration_loss=duration_loss.item())
        if joint_training:
            return loss, stats, after
        stats.update(loss=loss.item())
        return force_gatherable((loss, stats, text.shape[0]), loss.device)

    @torch.no_grad()
    def inference(
        self,
        text: torch.Tensor,
        durations: Optional[torch.Tensor] = None,
        alpha: float = 1.0,
        use_teacher_forcing: bool = False,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Generate the mel of one utterance.

        Args:
            text: (L,) token ids.
            durations: (L + 1,) frames per token, only for ``use_teacher_forcing``.
            alpha: Speaking-rate factor on the predicted durations (> 1: slower).
            use_teacher_forcing: Use ``durations`` instead of the predicted ones.
            **kwargs: Other decoding options of ESPnet models, ignored.

        Returns:
            ``feat_gen`` (T, odim) after the post-net and ``duration`` (L + 1,).

        Raises:
            ValueError: empty text, unknown token id, missing ``durations`` for teacher
                forcing, a non-positive ``alpha``.
        """
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0; got {alpha}")
        text_lengths = text.new_tensor([text.shape[0]])
        check_text(text.unsqueeze(0), text_lengths, self.idim, "MambaFastSpeech")
        hs, ilens = self._encode(text.unsqueeze(0), text_lengths)
        if use_teacher_forcing:
            if durations is None:
                raise ValueError("use_teacher_forcing needs durations")
            ds = durations.long().view(1, -1)
        else:
            ds = self.duration_predictor.durations(hs, ilens)
            if alpha != 1.0:
                ds = torch.round(ds.float() * alpha).long()
        if int(ds.sum()) == 0:  # nothing to say: one frame for the first token
            ds[0, 0] = 1
        after, _, _ = self._decode(hs, ds)
        return dict(feat_gen=after[0], duration=ds[0])
