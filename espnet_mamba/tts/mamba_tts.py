"""TTS model ``mamba_tts``: a VALL-M-style autoregressive Mamba over ``[text ; mel]``.

The text (with an end-of-sentence token) is a prefix of one causal sequence, followed by
the mel frames, grouped ``reduction_factor`` at a time ("CrossMamba by concatenation":
the text reaches the frames through the recurrent state, not through attention).  The
output at the last text position predicts the first mel group, the output at each mel
group predicts the next group and its stop probabilities.  A bidirectional Mamba
post-net refines the whole predicted mel (residual).

Speaker prompting is VALL-E's continuation: give the enrollment utterance's mel frames
as ``prompt_feats`` to :meth:`MambaTTS.inference` and the text as the enrollment's
transcript followed by the text to speak; the prompt sits between text and generated
frames exactly where the first frames of an utterance sit in training, so no extra
training input is needed.  ``spembs``, ``sids`` and ``lids`` (ESPnet's inputs) are
projected/embedded and added to every position.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.tts.abs_tts import AbsTTS
from typeguard import typechecked

from espnet_mamba.checks import at_least, one_of, probability
from espnet_mamba.compat import TransformerLoss
from espnet_mamba.modules.dropout import use_fast_dropout
from espnet_mamba.modules.layers import MambaLayer, make_norm
from espnet_mamba.modules.bimamba import MixerState
from espnet_mamba.modules.packing import pack_prefix
from espnet_mamba.modules.padding import check_lengths, mask_frames
from espnet_mamba.tts.inputs import check_text, with_eos

LOSS_TYPES = ("L1", "L2", "L1+L2")


class MelPrenet(nn.Module):
    """Decoder pre-net: ``layers`` x (Linear, ReLU, Dropout), then Linear to ``adim``.

    Args:
        idim: Input size (``reduction_factor * odim``: one group of frames).
        adim: Output size.
        layers: Number of hidden layers.
        units: Hidden size.
        dropout_rate: Dropout after each hidden layer (training only).
    """

    def __init__(self, idim: int, adim: int, layers: int = 2, units: int = 256,
                 dropout_rate: float = 0.5):
        super().__init__()
        mods: List[nn.Module] = []
        for i in range(layers):
            mods += [nn.Linear(idim if i == 0 else units, units), nn.ReLU(),
                     nn.Dropout(dropout_rate)]
        mods.append(nn.Linear(units if layers > 0 else idim, adim))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, N, idim) -> (batch, N, adim)."""
        return self.net(x)


class MambaPostnet(nn.Module):
    """Bidirectional Mamba post-net: the residual added to the predicted mel.

    Args:
        odim: Mel size.
        units: Model size of the post-net.
        layers: Number of bidirectional Mamba layers.
        bidirectional_type: ``inner`` or ``outer`` (see ``build_mixer``).
        norm: ``layer_norm`` or ``rms_norm``.
        dropout_rate: Dropout on each layer's output.
        **mamba_kwargs: ``mixer``, ``d_state``, ``d_conv``, ``expand`` (and Mamba-2's
            ``headdim``, ``ngroups``, ``chunk_size``) of the blocks.
    """

    def __init__(self, odim: int, units: int = 256, layers: int = 2,
                 bidirectional_type: str = "inner", norm: str = "layer_norm",
                 dropout_rate: float = 0.1, **mamba_kwargs):
        super().__init__()
        self.in_proj = nn.Linear(odim, units)
        self.layers = nn.ModuleList(
            MambaLayer(units, norm=norm, dropout_rate=dropout_rate, bidirectional=True,
                       bidirectional_type=bidirectional_type, **mamba_kwargs)
            for _ in range(layers)
        )
        self.norm = make_norm(norm, units)
        self.out_proj = nn.Linear(units, odim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x: (batch, T, odim), lengths: (batch,) -> residual (batch, T, odim), zero
        past ``lengths``."""
        h = mask_frames(self.in_proj(x), lengths)
        for layer in self.layers:
            h = layer(h, lengths)
        return mask_frames(self.out_proj(self.norm(h)), lengths)


class MambaTTS(AbsTTS):
    """Autoregressive Mamba TTS over ``[text ; mel]`` with a bidirectional Mamba post-net.

    Args:
        idim: Vocabulary size; the last id (``idim - 1``, ESPnet's ``<sos/eos>``) ends
            the text, id 0 pads.
        odim: Mel size.
        adim: Model size of the causal Mamba stack.
        num_blocks: Number of causal Mamba layers.
        d_state: SSM state size (all blocks; per head with ``mixer: mamba2``).
        d_conv: Causal convolution width (all blocks).
        expand: Inner size factor (all blocks).
        mixer: ``mamba`` (Mamba-1 selective scan) or ``mamba2`` (Mamba-2, SSD), in the
            causal stack and the post-net.
        headdim: Channels per head (``mamba2`` only; divides ``expand`` times ``adim`` and
            ``postnet_units``).
        ngroups: Groups of heads sharing B and C (``mamba2`` only).
        chunk_size: SSD chunk length (``mamba2`` only; speed and memory, not results).
        norm: ``layer_norm`` or ``rms_norm``.
        dropout_rate: Dropout on each Mamba layer's output and the token embedding.
        dprenet_layers: Hidden layers of the mel pre-net.
        dprenet_units: Hidden size of the mel pre-net.
        dprenet_dropout_rate: Dropout of the mel pre-net (training only).
        postnet_layers: Bidirectional Mamba layers of the post-net (0: no post-net).
        postnet_units: Model size of the post-net.
        postnet_bidirectional_type: ``inner`` or ``outer``.
        postnet_dropout_rate: Dropout in the post-net.
        reduction_factor: Frames predicted per step.
        spks: Number of speakers for a speaker-id embedding (``sids``); None: none.
        langs: Number of languages for a language-id embedding (``lids``); None: none.
        spk_embed_dim: Size of speaker embeddings (``spembs``, L2-normalised and
            projected); None: none.
        use_masking: Ignore padded frames in the loss (mean over all real frames).
        use_weighted_masking: Weight each utterance equally in the loss.
        bce_pos_weight: Positive-class weight of the stop loss.
        loss_type: ``L1``, ``L2`` or ``L1+L2`` (on before- and after-post-net mel).

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a size or count out of range, a dropout rate outside [0, 1), an
            unknown choice, ``headdim`` not dividing an inner size.
    """

    @typechecked
    def __init__(
        self,
        idim: int,
        odim: int,
        adim: int = 512,
        num_blocks: int = 12,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        mixer: str = "mamba",
        headdim: int = 64,
        ngroups: int = 1,
        chunk_size: int = 64,
        norm: str = "layer_norm",
        dropout_rate: float = 0.1,
        dprenet_layers: int = 2,
        dprenet_units: int = 256,
        dprenet_dropout_rate: float = 0.5,
        postnet_layers: int = 2,
        postnet_units: int = 256,
        postnet_bidirectional_type: str = "inner",
        postnet_dropout_rate: float = 0.1,
        reduction_factor: int = 1,
        spks: Optional[int] = None,
        langs: Optional[int] = None,
        spk_embed_dim: Optional[int] = None,
        use_masking: bool = True,
        use_weighted_masking: bool = False,
        bce_pos_weight: float = 5.0,
        loss_type: str = "L1+L2",
    ):
        super().__init__()
        if idim < 2:
            raise ValueError(f"idim must be >= 2 (padding and <sos/eos>); got {idim}")
        at_least(1, odim=odim, adim=adim, num_blocks=num_blocks, dprenet_units=dprenet_units,
                 postnet_units=postnet_units, reduction_factor=reduction_factor)
        at_least(0, dprenet_layers=dprenet_layers, postnet_layers=postnet_layers)
        for name, value in (("spks", spks), ("langs", langs), ("spk_embed_dim", spk_embed_dim)):
            if value is not None:
                at_least(1, **{name: value})
        probability(dropout_rate=dropout_rate, dprenet_dropout_rate=dprenet_dropout_rate,
                    postnet_dropout_rate=postnet_dropout_rate)
        one_of("loss_type", loss_type, LOSS_TYPES)
        self.idim, self.odim, self.adim = idim, odim, adim
        self.eos = idim - 1
        self.reduction_factor = reduction_factor
        self.loss_type = loss_type
        self.spks, self.langs, self.spk_embed_dim = spks, langs, spk_embed_dim
        mamba_kwargs = dict(mixer=mixer, d_state=d_state, d_conv=d_conv, expand=expand,
                            headdim=headdim, ngroups=ngroups, chunk_size=chunk_size)

        self.embed = nn.Sequential(nn.Embedding(idim, adim, padding_idx=0),
                                   nn.Dropout(dropout_rate))
        self.prenet = MelPrenet(odim * reduction_factor, adim, dprenet_layers,
                                dprenet_units, dprenet_dropout_rate)
        if spks is not None:
            self.sid_emb = nn.Embedding(spks, adim)
        if langs is not None:
            self.lid_emb = nn.Embedding(langs, adim)
        if spk_embed_dim is not None:
            self.projection = nn.Linear(spk_embed_dim, adim)
        self.decoders = nn.ModuleList(
            MambaLayer(adim, norm=norm, dropout_rate=dropout_rate, layer_idx=i,
                       **mamba_kwargs)
            for i in range(num_blocks)
        )
        self.after_norm = make_norm(norm, adim)
        self.feat_out = nn.Linear(adim, odim * reduction_factor)
        self.prob_out = nn.Linear(adim, reduction_factor)
        self.postnet = (
            MambaPostnet(odim, postnet_units, postnet_layers, postnet_bidirectional_type,
                         norm, postnet_dropout_rate, **mamba_kwargs)
            if postnet_layers > 0 else None
        )
        self.criterion = TransformerLoss(use_masking=use_masking,
                                         use_weighted_masking=use_weighted_masking,
                                         bce_pos_weight=bce_pos_weight)
        use_fast_dropout(self)

    # ------------------------------------------------------------------ checks, inputs
    def _check_text(self, text: torch.Tensor, text_lengths: torch.Tensor) -> None:
        check_text(text, text_lengths, self.idim, "MambaTTS")

    def _condition(
        self,
        batch: int,
        spembs: Optional[torch.Tensor],
        sids: Optional[torch.Tensor],
        lids: Optional[torch.Tensor],
    ) -> Optional[torch.Tensor]:
        """Sum of the speaker/language vectors added to every position: (batch, 1, adim).

        Args:
            batch: Batch size.
            spembs: (batch, spk_embed_dim) when the model has ``spk_embed_dim``.
            sids: (batch,) or (batch, 1) speaker ids when the model has ``spks``.
            lids: (batch,) or (batch, 1) language ids when the model has ``langs``.
        """
        parts = []
        for name, value, needed in (("spembs", spembs, self.spk_embed_dim),
                                    ("sids", sids, self.spks), ("lids", lids, self.langs)):
            if needed is None:
                continue
            if value is None:
                raise ValueError(f"this MambaTTS was built to use {name}; pass {name}")
            if name == "spembs":
                parts.append(self.projection(F.normalize(value.view(batch, -1))))
            else:
                emb = self.sid_emb if name == "sids" else self.lid_emb
                parts.append(emb(value.view(batch).long()))
        return sum(parts).unsqueeze(1) if parts else None

    def _with_eos(self, text: torch.Tensor, text_lengths: torch.Tensor) -> torch.Tensor:
        return with_eos(text, text_lengths, self.eos)

    def _groups(self, feats: torch.Tensor) -> torch.Tensor:
        """(batch, T, odim) -> (batch, T // r, r * odim); trailing frames are dropped."""
        n = feats.shape[1] // self.reduction_factor
        return feats[:, : n * self.reduction_factor].reshape(feats.shape[0], n, -1)

    # ------------------------------------------------------------------ network pieces
    def _scan(
        self, x: torch.Tensor, states: Optional[List[MixerState]] = None
    ) -> Tuple[torch.Tensor, List[MixerState]]:
        """Stream (batch, T, adim) through the causal stack after ``states``.

        One call with T=1 costs one recurrent step per layer.  Returns the normed
        hidden states and the new per-layer states.
        """
        states = states or [None] * len(self.decoders)
        new_states = []
        for layer, state in zip(self.decoders, states):
            x, state = layer.forward_chunk(x, state)
            new_states.append(state)
        return self.after_norm(x), new_states

    def _heads(self, h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(batch, N, adim) -> mel (batch, N * r, odim), stop logits (batch, N * r)."""
        batch = h.shape[0]
        return self.feat_out(h).view(batch, -1, self.odim), self.prob_out(h).view(batch, -1)

    def _refine(self, before: torch.Tensor, olens: torch.Tensor) -> torch.Tensor:
        """Add the post-net residual: (batch, T, odim) -> (batch, T, odim)."""
        if self.postnet is None:
            return before
        return before + self.postnet(before, olens)

    def _forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        spembs: Optional[torch.Tensor] = None,
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forced outputs.

        Args:
            text: (batch, Lmax) token ids (without ``<sos/eos>``); text_lengths: (batch,).
            feats: (batch, Tmax, odim) target mel; feats_lengths: (batch,).
            spembs, sids, lids: Conditioning, as in :meth:`forward`.

        Returns:
            after-post-net mel, before-post-net mel (batch, Nmax * r, odim), stop logits
            (batch, Nmax * r), and the used lengths ``(feats_lengths // r) * r``.
        """
        r = self.reduction_factor
        check_lengths(feats_lengths, feats, "feats_lengths")
        feats = mask_frames(feats, feats_lengths)  # padding may hold anything
        ngroups = torch.div(feats_lengths, r, rounding_mode="floor")
        groups = self._groups(feats[:, : int(ngroups.max()) * r])  # (batch, Nmax, r*odim)
        text_emb = self.embed(self._with_eos(text, text_lengths))
        mel_emb = self.prenet(groups[:, :-1])  # the last group is never an input
        x, _ = pack_prefix(text_emb, text_lengths + 1, mel_emb)
        lengths = text_lengths + ngroups
        cond = self._condition(text.shape[0], spembs, sids, lids)
        if cond is not None:
            x = x + cond
        for layer in self.decoders:
            x = layer(x, lengths)
        h = self.after_norm(x)
        # output at position text_lengths + j (from the eos on) predicts group j
        out_index = (text_lengths[:, None] + torch.arange(groups.shape[1],
                                                          device=h.device)[None, :])
        out_index = out_index.clamp(max=h.shape[1] - 1)
        h = h.gather(1, out_index.unsqueeze(-1).expand(-1, -1, h.shape[2]))
        before, logits = self._heads(h)
        olens = ngroups * r
        before = mask_frames(before, olens)
        return self._refine(before, olens), before, logits, olens

    # ------------------------------------------------------------------ ESPnet API
    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        spembs: Optional[torch.Tensor] = None,
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        joint_training: bool = False,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Loss of a padded batch.

        Args:
            text: (batch, Lmax) token ids; text_lengths: (batch,).
            feats: (batch, Tmax, odim) target mel; feats_lengths: (batch,), each at
                least ``reduction_factor``.
            spembs: (batch, spk_embed_dim) speaker embeddings.
            sids: (batch, 1) speaker ids.
            lids: (batch, 1) language ids.
            joint_training: Return the after-post-net mel instead of the batch weight.
            **kwargs: Other ESPnet inputs (durations, pitch, ...), ignored.

        Returns:
            loss, stats (l1_loss, l2_loss, bce_loss, loss), and the batch size as weight
            (or the mel outputs with ``joint_training``).

        Raises:
            ValueError: empty text, unknown token id, or mel shorter than
                ``reduction_factor``.
        """
        text = text[:, : int(text_lengths.max())]
        feats = feats[:, : int(feats_lengths.max())]
        self._check_text(text, text_lengths)
        if int(feats_lengths.min()) < self.reduction_factor:
            raise ValueError(f"every mel needs >= reduction_factor="
                             f"{self.reduction_factor} frames")
        after, before, logits, olens = self._forward(
            text, text_lengths, feats, feats_lengths, spembs, sids, lids)
        ys = feats[:, : after.shape[1]]
        # ESPnet's labels: 1 from the last real frame on (padding is masked out)
        frames = torch.arange(ys.shape[1], device=ys.device)[None, :]
        labels = (frames >= (olens - 1)[:, None]).to(ys.dtype)
        l1_loss, l2_loss, bce_loss = self.criterion(after, before, logits, ys, labels,
                                                    olens)
        mel_loss = {"L1": l1_loss, "L2": l2_loss, "L1+L2": l1_loss + l2_loss}
        loss = mel_loss[self.loss_type] + bce_loss
        stats = dict(l1_loss=l1_loss.item(), l2_loss=l2_loss.item(),
                     bce_loss=bce_loss.item())
        if joint_training:
            return loss, stats, after
        stats.update(loss=loss.item())
        return force_gatherable((loss, stats, text.shape[0]), loss.device)

    @torch.no_grad()
    def inference(
        self,
        text: torch.Tensor,
        feats: Optional[torch.Tensor] = None,
        spembs: Optional[torch.Tensor] = None,
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        threshold: float = 0.5,
        minlenratio: float = 0.0,
        maxlenratio: float = 10.0,
        use_teacher_forcing: bool = False,
        prompt_feats: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Generate the mel of one utterance.

        The prefix ``[text ; <sos/eos> ; prompt]`` is scanned once; each new group of
        ``reduction_factor`` frames then costs one recurrent step per layer.

        Args:
            text: (L,) token ids.
            feats: (T, odim) mel, only for ``use_teacher_forcing``.
            spembs: (spk_embed_dim,) speaker embedding.
            sids: (1,) speaker id.
            lids: (1,) language id.
            threshold: Stop when a stop probability reaches it.
            minlenratio: Least number of groups, times ``(L + 1) / r``.
            maxlenratio: Most number of groups, times ``(L + 1) / r``.
            use_teacher_forcing: Return the teacher-forced outputs for ``feats``.
            prompt_feats: (P, odim) mel of an enrollment utterance in the model's
                (normalised) feature space, continued by the generated frames; ``text``
                should be its transcript followed by the text to speak.  The first
                ``P % r`` frames are dropped.
            **kwargs: Other decoding options of ESPnet models, ignored.

        Returns:
            ``feat_gen`` (T_gen, odim) after the post-net (prompt excluded) and ``prob``
            (T_gen,) stop probabilities.

        Raises:
            ValueError: empty text, unknown token id, missing ``feats`` for teacher
                forcing, or a prompt shorter than ``reduction_factor``.
        """
        text_lengths = text.new_tensor([text.shape[0]])
        self._check_text(text.unsqueeze(0), text_lengths)
        spembs = None if spembs is None else spembs.unsqueeze(0)
        if use_teacher_forcing:
            if feats is None:
                raise ValueError("use_teacher_forcing needs feats")
            after, _, logits, _ = self._forward(
                text.unsqueeze(0), text_lengths, feats.unsqueeze(0),
                text_lengths.new_tensor([feats.shape[0]]), spembs, sids, lids)
            return dict(feat_gen=after[0], prob=torch.sigmoid(logits[0]))
        cond = self._condition(1, spembs, sids, lids)
        x = self._prefix(text, prompt_feats)
        r = self.reduction_factor
        maxlen = int((text.shape[0] + 1) * maxlenratio / r)
        minlen = int((text.shape[0] + 1) * minlenratio / r)
        outs, probs, states = [], [], None
        while True:
            h, states = self._scan(x if cond is None else x + cond, states)
            before, logits = self._heads(h[:, -1:])
            outs.append(before[0])
            probs.append(torch.sigmoid(logits[0]))
            done = bool((probs[-1] >= threshold).any()) or len(outs) >= maxlen
            if done and len(outs) >= minlen:
                break
            x = self.prenet(before.reshape(1, 1, -1))
        before = torch.cat(outs).unsqueeze(0)
        after = self._refine(before, text_lengths.new_tensor([before.shape[1]]))
        return dict(feat_gen=after[0], prob=torch.cat(probs))

    def _prefix(self, text: torch.Tensor, prompt_feats: Optional[torch.Tensor]) -> torch.Tensor:
        """Embedded ``[text ; <sos/eos> ; prompt groups]``: (1, S, adim).

        Args:
            text: (L,) token ids.
            prompt_feats: (P, odim) prompt mel or None.
        """
        x = self.embed(self._with_eos(text.unsqueeze(0), text.new_tensor([text.shape[0]])))
        if prompt_feats is None:
            return x
        r = self.reduction_factor
        if prompt_feats.shape[0] < r:
            raise ValueError(f"prompt_feats needs >= reduction_factor={r} frames")
        prompt = prompt_feats[prompt_feats.shape[0] % r:].unsqueeze(0)
        return torch.cat([x, self.prenet(self._groups(prompt))], dim=1)
