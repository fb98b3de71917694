"""MambaTTS: ESPnet build and Griffin-Lim synthesis, shapes, training, cached decoding
against an uncached reference, the stop token, padding invariance and input checks."""
from pathlib import Path
from typing import Optional, Tuple

import pytest
import torch

from espnet_mamba.tts import MambaTTS
from tiny_models import (
    N_MELS,
    TINY_TTS_CONF,
    TTS_TOKENS,
    parse_tts_args,
    tts_task_config,
    write_tts_files,
)

REPO = Path(__file__).resolve().parents[2]
# Mamba-2 in the causal stack and the post-net: heads of 8 channels, chunks of 4 steps
MAMBA2 = dict(mixer="mamba2", headdim=8, chunk_size=4)


def tiny(reduction_factor: int = 1, **kwargs) -> MambaTTS:
    """A small model over 10 tokens and 6 mel bins."""
    conf = dict(TINY_TTS_CONF, reduction_factor=reduction_factor, **kwargs)
    return MambaTTS(idim=10, odim=6, **conf)


def smooth_mel(frames: int, phase: float, odim: int = 6) -> torch.Tensor:
    """A predictable (frames, odim) pattern."""
    t = torch.arange(frames, dtype=torch.float32)[:, None]
    f = torch.arange(odim, dtype=torch.float32)[None, :]
    return torch.sin(0.3 * t + 0.7 * f + phase)


@pytest.fixture(scope="module")
def task_config(tmp_path_factory) -> Path:
    """A saved TTSTask config (as training writes it) naming ``tts: mamba_tts``."""
    return tts_task_config(tmp_path_factory.mktemp("tts_task"))


def test_task_builds_from_yaml_and_trains_on_speech(task_config):
    from espnet2.tasks.tts import TTSTask

    model, _ = TTSTask.build_model_from_file(task_config, None, "cpu")
    assert isinstance(model.tts, MambaTTS)
    assert (model.tts.idim, model.tts.odim) == (len(TTS_TOKENS), N_MELS)
    speech = torch.randn(2, 4000)
    loss, stats, weight = model(
        text=torch.tensor([[2, 3, 4], [4, 5, 0]]), text_lengths=torch.tensor([3, 2]),
        speech=speech, speech_lengths=torch.tensor([4000, 3000]))
    loss.backward()
    assert torch.isfinite(loss).all() and int(weight) == 2
    assert set(stats) >= {"l1_loss", "l2_loss", "bce_loss", "loss"}


def test_text2speech_with_griffin_lim_returns_a_waveform(task_config):
    from espnet2.bin.tts_inference import Text2Speech
    from espnet2.utils.griffin_lim import Spectrogram2Waveform

    t2s = Text2Speech(train_config=task_config, model_file=None, device="cpu")
    assert isinstance(t2s.vocoder, Spectrogram2Waveform)
    # Text2Speech passes threshold/maxlenratio only to its own AR models: use decode_conf
    out = t2s("abc a", decode_conf={"threshold": 2.0, "maxlenratio": 3.0})
    wav = out["wav"]
    assert wav.dim() == 1 and torch.isfinite(wav).all()
    assert out["feat_gen"].shape == (int(6 * 3.0 / 2) * 2, N_MELS)  # 5 chars + eos, r=2
    assert wav.numel() == pytest.approx(out["feat_gen"].shape[0] * 64, abs=256)


@pytest.mark.parametrize("name", ["train_mamba_tts.yaml", "train_mamba2_tts.yaml",
                                  "train_transformer_tts.yaml"])
def test_reference_configs_build_at_matched_size(tmp_path, name):
    """All parse with TTSTask; 78 tokens: Mamba 32.80M, Mamba-2 33.19M, Transformer
    33.03M."""
    from espnet2.tasks.tts import TTSTask

    files = write_tts_files(tmp_path)
    files["token_list"].write_text("\n".join(f"t{i}" for i in range(78)) + "\n")
    model = TTSTask.build_model(parse_tts_args(REPO / "conf" / "tts" / name, files))
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == pytest.approx(33.0e6, rel=0.02), n_params


@pytest.mark.parametrize("r", [1, 2])
def test_forward_and_inference_shapes(r):
    model = tiny(r)
    text = torch.tensor([[1, 2, 3, 4], [3, 4, 0, 0]])
    feats = torch.randn(2, 9, 6)
    loss, stats, weight = model(text, torch.tensor([4, 2]), feats, torch.tensor([9, 5]))
    assert loss.shape == (1,) and int(weight) == 2
    _, _, after = model(text, torch.tensor([4, 2]), feats, torch.tensor([9, 5]),
                        joint_training=True)
    assert after.shape == (2, 9 // r * r, 6)
    model.eval()
    out = model.inference(torch.tensor([1, 2, 3]), threshold=2.0, maxlenratio=2.0)
    n_groups = int(4 * 2.0 / r)
    assert out["feat_gen"].shape == (n_groups * r, 6) and out["prob"].shape == (n_groups * r,)
    tf = model.inference(torch.tensor([1, 2, 3]), feats=feats[0], use_teacher_forcing=True)
    assert tf["feat_gen"].shape == (9 // r * r, 6) and tf["prob"].shape == (9 // r * r,)


def test_loss_falls_on_two_utterances():
    model = tiny(2)
    text = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]])
    text_lengths = torch.tensor([5, 3])
    feats = torch.zeros(2, 16, 6)
    feats[0] = smooth_mel(16, 0.0)
    feats[1, :12] = smooth_mel(12, 1.5)
    feats_lengths = torch.tensor([16, 12])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, _, _ = model(text, text_lengths, feats, feats_lengths)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def uncached_generate(model: MambaTTS, text: torch.Tensor, n_groups: int,
                      prompt: Optional[torch.Tensor] = None, **cond) -> Tuple[torch.Tensor, torch.Tensor]:
    """Greedy decoding that reruns the full teacher-forced forward on the growing prefix.

    The frame group fed last to ``_forward`` is a dummy: only the groups before it are
    inputs, and the output at its position is the prediction of the next group.
    """
    r, odim = model.reduction_factor, model.odim
    prompt = torch.zeros(0, odim) if prompt is None else prompt[prompt.shape[0] % r:]
    gen, probs = torch.zeros(0, odim), []
    for _ in range(n_groups):
        feats = torch.cat([prompt, gen, torch.zeros(r, odim)])
        _, before, logits, _ = model._forward(
            text[None], torch.tensor([len(text)]), feats[None], torch.tensor([len(feats)]),
            **cond)
        gen = torch.cat([gen, before[0, -r:]])
        probs.append(torch.sigmoid(logits[0, -r:]))
    after = model._refine(gen[None], torch.tensor([len(gen)]))[0]
    return after, torch.cat(probs)


@pytest.mark.parametrize("r,use_prompt,mixer_conf", [
    (1, False, {}), (2, False, {}), (2, True, {}), (1, False, MAMBA2), (2, True, MAMBA2)])
def test_cached_inference_equals_uncached_generation(r, use_prompt, mixer_conf):
    torch.manual_seed(0)
    model = tiny(r, **mixer_conf).eval()
    text = torch.tensor([1, 4, 2, 6])
    prompt = smooth_mel(5, 0.3) if use_prompt else None
    out = model.inference(text, threshold=2.0, maxlenratio=3.0, prompt_feats=prompt)
    n_groups = int(5 * 3.0 / r)
    with torch.no_grad():
        after, probs = uncached_generate(model, text, n_groups, prompt)
    assert out["feat_gen"].shape == after.shape == (n_groups * r, 6)
    torch.testing.assert_close(out["feat_gen"], after, atol=1e-4, rtol=0)
    torch.testing.assert_close(out["prob"], probs, atol=1e-4, rtol=0)


def test_cached_inference_with_speaker_conditioning():
    model = tiny(1, spks=3, langs=2, spk_embed_dim=5).eval()
    text, spemb = torch.tensor([2, 3, 4]), torch.randn(5)
    out = model.inference(text, spembs=spemb, sids=torch.tensor([2]),
                          lids=torch.tensor([1]), threshold=2.0, maxlenratio=2.0)
    with torch.no_grad():
        after, _ = uncached_generate(model, text, 8, spembs=spemb[None],
                                     sids=torch.tensor([[2]]), lids=torch.tensor([[1]]))
    torch.testing.assert_close(out["feat_gen"], after, atol=1e-4, rtol=0)
    other = model.inference(text, spembs=spemb, sids=torch.tensor([0]),
                            lids=torch.tensor([1]), threshold=2.0, maxlenratio=2.0)
    assert not torch.allclose(other["feat_gen"], out["feat_gen"])
    with pytest.raises(ValueError, match="pass sids"):
        model.inference(text, spembs=spemb, lids=torch.tensor([1]))


@pytest.mark.parametrize("r", [1, 2])
def test_stop_token_is_honoured(r):
    model = tiny(r).eval()
    text = torch.tensor([1, 2, 3, 4])
    with torch.no_grad():
        model.prob_out.bias.fill_(30.0)
    out = model.inference(text)
    assert out["feat_gen"].shape[0] == r and bool((out["prob"] > 0.5).all())
    out = model.inference(text, minlenratio=1.0)  # keeps going until minlen
    assert out["feat_gen"].shape[0] == int(5 * 1.0 / r) * r
    with torch.no_grad():
        model.prob_out.bias.fill_(-30.0)
    out = model.inference(text, maxlenratio=2.0)  # never stops: cut at maxlen
    assert out["feat_gen"].shape[0] == int(5 * 2.0 / r) * r


@pytest.mark.parametrize("r,mixer_conf", [(1, {}), (2, {}), (2, MAMBA2)])
def test_padded_batch_equals_each_utterance_alone(r, mixer_conf):
    torch.manual_seed(0)
    model = tiny(r, use_masking=False, use_weighted_masking=True, spk_embed_dim=4,
                 **mixer_conf).eval()
    texts = [torch.tensor([1, 2, 3, 4, 5]), torch.tensor([6, 7]), torch.tensor([8, 2, 3])]
    mels = [torch.randn(n, 6) for n in (7, 12, 4)]
    spembs = torch.randn(3, 4)
    text = torch.nn.utils.rnn.pad_sequence(texts, batch_first=True)
    feats = torch.nn.utils.rnn.pad_sequence(mels, batch_first=True)
    text_lengths = torch.tensor([len(t) for t in texts])
    feats_lengths = torch.tensor([len(m) for m in mels])
    with torch.no_grad():
        batch_loss, _, _ = model(text, text_lengths, feats, feats_lengths, spembs=spembs)
        batch_after, *_ = model._forward(text, text_lengths, feats, feats_lengths, spembs)
        alone_losses = []
        for i, (t, m) in enumerate(zip(texts, mels)):
            args = (t[None], torch.tensor([len(t)]), m[None], torch.tensor([len(m)]))
            alone_losses.append(model(*args, spembs=spembs[i:i + 1])[0])
            after, *_ = model._forward(*args, spembs[i:i + 1])
            n = len(m) // r * r
            torch.testing.assert_close(batch_after[i, :n], after[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(batch_loss, torch.stack(alone_losses).mean(0),
                               atol=1e-5, rtol=0)


def test_bad_text_gives_a_clear_error():
    model = tiny(1).eval()
    with pytest.raises(ValueError, match="token id 10 is outside the vocabulary"):
        model.inference(torch.tensor([1, 10, 2]))
    with pytest.raises(ValueError, match="empty text"):
        model.inference(torch.tensor([], dtype=torch.long))
    feats, feats_lengths = torch.randn(2, 5, 6), torch.tensor([5, 5])
    with pytest.raises(ValueError, match="token id -1 is outside"):
        model(torch.tensor([[1, -1], [2, 3]]), torch.tensor([2, 2]), feats, feats_lengths)
    with pytest.raises(ValueError, match="empty text"):
        model(torch.tensor([[1, 2], [0, 0]]), torch.tensor([2, 0]), feats, feats_lengths)
    with pytest.raises(ValueError, match="reduction_factor"):
        tiny(2)(torch.tensor([[1, 2]]), torch.tensor([2]), feats[:1, :1], torch.tensor([1]))


def test_mixer_mamba2_in_the_causal_stack_and_the_postnet():
    from espnet_mamba.modules import BiMamba2Inner, Mamba2

    model = tiny(1, **MAMBA2)
    assert all(isinstance(layer.mixer, Mamba2) for layer in model.decoders)
    assert all(isinstance(layer.mixer, BiMamba2Inner) for layer in model.postnet.layers)
    with pytest.raises(ValueError, match="headdim=7 must divide d_inner"):
        tiny(1, **dict(MAMBA2, headdim=7))
