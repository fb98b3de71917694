"""MambaFastSpeech: ESPnet build with teacher durations from a durations file's layout,
Griffin-Lim synthesis, shapes, learning, padding invariance and the input checks."""
import pytest
import torch

from espnet_mamba.tts import MambaFastSpeech
from espnet_mamba.tts.mamba_fastspeech import DurationPredictor
from tiny_models import N_MELS, TTS_TOKENS, tts_task_config

TINY = dict(adim=32, encoder_blocks=2, decoder_blocks=2, d_state=8,
            duration_predictor_chans=16, postnet_layers=1, postnet_units=16)


def tiny(**kwargs) -> MambaFastSpeech:
    """A small model over 10 tokens and 6 mel bins."""
    return MambaFastSpeech(idim=10, odim=6, **dict(TINY, **kwargs))


def split(total: int, tokens: int, seed: int) -> torch.Tensor:
    """``tokens`` durations (>= 1 but the last, the eos) summing to ``total``."""
    g = torch.Generator().manual_seed(seed)
    cuts = torch.sort(torch.randperm(total - 1, generator=g)[: tokens - 2] + 1).values
    edges = torch.cat([torch.tensor([0]), cuts, torch.tensor([total, total])])
    return edges.diff()


@pytest.fixture(scope="module")
def task_config(tmp_path_factory):
    return tts_task_config(tmp_path_factory.mktemp("fastspeech_task"), "mamba_fastspeech",
                           TINY)


def test_task_builds_and_trains_on_speech_with_durations(task_config):
    from espnet2.tasks.tts import TTSTask

    model, _ = TTSTask.build_model_from_file(task_config, None, "cpu")
    assert isinstance(model.tts, MambaFastSpeech)
    assert (model.tts.idim, model.tts.odim) == (len(TTS_TOKENS), N_MELS)
    speech, speech_lengths = torch.randn(2, 4000), torch.tensor([4000, 3000])
    # ESPnet's fbank (centred STFT): 1 + samples // hop frames
    _, feats_lengths = model.feats_extract(speech, speech_lengths)
    assert feats_lengths.tolist() == [1 + 4000 // 64, 1 + 3000 // 64]
    durations = torch.zeros(2, 4, dtype=torch.long)
    durations[0] = split(int(feats_lengths[0]), 4, 0)
    durations[1, :3] = split(int(feats_lengths[1]), 3, 1)
    loss, stats, weight = model(
        text=torch.tensor([[2, 3, 4], [4, 5, 0]]), text_lengths=torch.tensor([3, 2]),
        speech=speech, speech_lengths=speech_lengths, durations=durations,
        durations_lengths=torch.tensor([4, 3]))
    loss.backward()
    assert torch.isfinite(loss).all() and int(weight) == 2
    assert set(stats) >= {"l1_loss", "duration_loss", "loss"}


def test_text2speech_with_griffin_lim_returns_a_waveform(task_config):
    from espnet2.bin.tts_inference import Text2Speech

    t2s = Text2Speech(train_config=task_config, model_file=None, device="cpu")
    out = t2s("abc a")
    assert out["duration"].shape == (6,)  # 5 characters and the eos
    assert out["feat_gen"].shape == (max(int(out["duration"].sum()), 1), N_MELS)
    assert out["wav"].dim() == 1 and torch.isfinite(out["wav"]).all()


def test_inference_lengths_follow_the_durations():
    model = tiny().eval()
    text = torch.tensor([1, 2, 3])
    tf = model.inference(text, durations=torch.tensor([2, 0, 5, 1]), use_teacher_forcing=True)
    assert tf["feat_gen"].shape == (8, 6) and tf["duration"].tolist() == [2, 0, 5, 1]
    with torch.no_grad():  # the predictor's own rounding of exp(log d) - 1
        hs, ilens = model._encode(text[None], torch.tensor([3]))
        expected = torch.clamp(torch.round(model.duration_predictor(hs, ilens).exp() - 1), min=0)
    out = model.inference(text)
    assert out["duration"].tolist() == expected[0].long().tolist() or int(expected.sum()) == 0
    slow = model.inference(text, alpha=2.0)
    assert slow["duration"].tolist() == torch.round(out["duration"] * 2.0).long().tolist()
    assert slow["feat_gen"].shape[0] == max(int(slow["duration"].sum()), 1)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        model.inference(text, alpha=0.0)
    with pytest.raises(ValueError, match="use_teacher_forcing needs durations"):
        model.inference(text, use_teacher_forcing=True)


def test_learns_mel_and_durations_of_two_utterances():
    torch.manual_seed(0)
    model = tiny(dropout_rate=0.0, duration_predictor_dropout_rate=0.0,
                 postnet_dropout_rate=0.0)
    text = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]])
    text_lengths = torch.tensor([4, 2])
    durations = torch.tensor([[3, 1, 4, 2, 0], [5, 2, 1, 0, 0]])
    feats_lengths = durations.sum(1)
    t = torch.arange(10.0)[None, :, None]
    feats = torch.sin(0.4 * t + torch.arange(6.0)[None, None, :] + torch.tensor([0.0, 1.5])[:, None, None])
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        loss, stats, _ = model(text, text_lengths, feats, feats_lengths, durations,
                               text_lengths + 1)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(stats["loss"])
    assert losses[-1] < 0.2 * losses[0]
    model.eval()
    out = model.inference(text[0, :4])
    assert out["duration"].tolist() == durations[0].tolist()
    torch.testing.assert_close(out["feat_gen"], feats[0, :10], atol=0.25, rtol=0)


def test_padded_batch_equals_each_utterance_alone():
    torch.manual_seed(0)
    model = tiny(use_masking=False, use_weighted_masking=True).eval()
    texts = [torch.tensor([1, 2, 3, 4, 5]), torch.tensor([6, 7]), torch.tensor([8, 2, 3])]
    durs = [split(n, len(t) + 1, i) for i, (t, n) in enumerate(zip(texts, (9, 14, 5)))]
    mels = [torch.randn(int(d.sum()), 6) for d in durs]
    pad = torch.nn.utils.rnn.pad_sequence
    text = pad(texts, batch_first=True, padding_value=7)  # padding may hold anything
    feats = pad(mels, batch_first=True, padding_value=3.0)
    durations = pad(durs, batch_first=True, padding_value=4)
    lengths = torch.tensor([len(t) for t in texts])
    feats_lengths = torch.tensor([len(m) for m in mels])
    with torch.no_grad():
        batch_loss = model(text, lengths, feats, feats_lengths, durations, lengths + 1)[0]
        hs, ilens = model._encode(text, lengths)
        batch_d = model.duration_predictor(hs, ilens)
        batch_after, _, _ = model._decode(hs, durations * (torch.arange(6)[None] < ilens[:, None]))
        alone = []
        for i, (t, m, d) in enumerate(zip(texts, mels, durs)):
            n = torch.tensor([len(t)])
            alone.append(model(t[None], n, m[None], torch.tensor([len(m)]), d[None], n + 1)[0])
            hs1, ilens1 = model._encode(t[None], n)
            torch.testing.assert_close(batch_d[i, :len(t) + 1],
                                       model.duration_predictor(hs1, ilens1)[0], atol=1e-5, rtol=0)
            after, _, _ = model._decode(hs1, d[None])
            torch.testing.assert_close(batch_after[i, :len(m)], after[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(batch_loss, torch.stack(alone).mean(0), atol=1e-5, rtol=0)


def test_duration_predictor_ignores_padding():
    predictor = DurationPredictor(4, layers=2, chans=8, kernel_size=5).eval()
    x = torch.randn(1, 6, 4)
    padded = torch.cat([x, torch.full((1, 3, 4), 50.0)], dim=1)
    torch.testing.assert_close(predictor(padded, torch.tensor([6]))[:, :6],
                               predictor(x, torch.tensor([6])), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="must be odd"):
        DurationPredictor(4, kernel_size=4)


def test_bad_durations_and_text_give_clear_errors():
    model = tiny()
    text, lengths = torch.tensor([[1, 2], [3, 4]]), torch.tensor([2, 2])
    feats, feats_lengths = torch.randn(2, 6, 6), torch.tensor([6, 5])
    good = torch.tensor([[2, 3, 1], [1, 1, 3]])
    assert torch.isfinite(model(text, lengths, feats, feats_lengths, good, lengths + 1)[0])
    with pytest.raises(ValueError, match="trains on teacher durations.*align_durations"):
        model(text, lengths, feats, feats_lengths)
    with pytest.raises(ValueError, match="one value per token plus one for <sos/eos>"):
        model(text, lengths, feats, feats_lengths, good[:, :2], lengths)
    with pytest.raises(ValueError, match=r"durations sum to \[6, 6\] frames, the mel has \[6, 5\]"):
        model(text, lengths, feats, feats_lengths, torch.tensor([[2, 3, 1], [1, 2, 3]]),
              lengths + 1)
    with pytest.raises(ValueError, match="token id 10 is outside the vocabulary"):
        model(torch.tensor([[1, 10], [3, 4]]), lengths, feats, feats_lengths, good, lengths + 1)
    with pytest.raises(ValueError, match="MambaFastSpeech got an empty text"):
        model.eval().inference(torch.tensor([], dtype=torch.long))
