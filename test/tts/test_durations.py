"""tts.durations and bin.align_durations: CTC forced-alignment durations, by hand and on
tone utterances whose characters sit at known times, spelled by a briefly trained ASR
model; which TTS models take durations (bin.takes_durations)."""
import numpy as np
import pytest
import soundfile as sf
import torch

from espnet_mamba.bin import align_durations
from espnet_mamba.bin import takes_durations as takes_durations_cli
from espnet_mamba.data import DataError
from espnet_mamba.tts.durations import durations, takes_durations, token_spans
from tiny_models import SR, build_model, tone_utterance, train_briefly


def test_durations_split_the_blanks_and_sum_to_the_mel_length():
    # spans of 3 tokens over 15 ASR frames; 30 TTS frames (2 per ASR frame)
    assert durations([(2, 4), (6, 7), (9, 12)], 15, 30) == [10, 6, 8, 6]
    # more ASR frames than TTS frames: rounded boundaries stay monotone, sum exact
    ds = durations([(0, 1), (1, 2), (2, 3), (5, 9)], 10, 3)
    assert len(ds) == 5 and sum(ds) == 3 and min(ds) >= 0


def test_token_spans_follow_the_viterbi_path():
    frames = [0, 1, 1, 0, 2, 0, 0, 2, 3, 0]  # most likely label per frame
    log_probs = torch.full((10, 4), -10.0)
    log_probs[torch.arange(10), torch.tensor(frames)] = 0.0
    assert token_spans(log_probs.log_softmax(-1), [1, 2, 2, 3]) == [(1, 3), (4, 5), (7, 8),
                                                                    (8, 9)]
    with pytest.raises(DataError, match="2 ASR frames cannot hold 2 tokens \\(1 repeats\\)"):
        token_spans(log_probs[:2], [2, 2])


@pytest.fixture(scope="module")
def asr_exp(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipe") / "exp" / "asr"
    root.mkdir(parents=True)
    model = build_model(root, num_blocks=2, bidirectional=True)
    train_briefly(model, root, steps=300)
    return root


def data_dir(root, texts):
    rng = np.random.default_rng(1)
    (root / "wav").mkdir(parents=True)
    wav, text = [], []
    for i, t in enumerate(texts):
        path = root / "wav" / f"u{i}.wav"
        sf.write(path, tone_utterance(t, rng), SR, subtype="FLOAT")
        wav.append(f"u{i} {path}\n")
        text.append(f"u{i} {t}\n")
    (root / "wav.scp").write_text("".join(wav))
    (root / "text").write_text("".join(text))
    return root


def test_align_durations_recovers_the_character_times(asr_exp, tmp_path, capsys):
    texts = ["abc", "cab", "bca"]
    src = data_dir(tmp_path / "data", texts)
    hop = 64  # 8 ms TTS frames; each character is 0.15 s of tone and 0.05 s of gap
    align_durations.main(["--asr_exp", str(asr_exp), "--asr_model", "model.pth",
                          "--data_dir", str(src), "--hop_length", str(hop),
                          "--output", str(tmp_path / "durations")])
    assert "durations of 3 utterances" in capsys.readouterr().out
    lines = dict(line.split(" ", 1) for line in (tmp_path / "durations").read_text().splitlines())
    for i, t in enumerate(texts):
        ds = [int(d) for d in lines[f"u{i}"].split()]
        samples = sf.info(src / "wav" / f"u{i}.wav").frames
        assert len(ds) == len(t) + 1 and sum(ds) == 1 + samples // hop
        # each character's time overlaps its tone (0.15 s from 0.05 + 0.2 i s) within
        # one ASR frame (20 ms: 5 ms hops, 4-fold subsampling); CTC's spikes may sit
        # anywhere in a tone, so the boundaries are not closer than that
        edges = np.concatenate([[0], np.cumsum(ds)]) * hop / SR
        assert np.all(np.diff(edges) >= 0) and edges[-1] == pytest.approx(samples / SR, abs=0.01)
        for j in range(len(t)):
            tone = (0.05 + 0.2 * j - 0.02, 0.2 + 0.2 * j + 0.02)
            assert edges[j] < tone[1] and edges[j + 1] > tone[0], (t, j, edges)


def test_unknown_character_and_missing_model_are_named(asr_exp, tmp_path, capsys):
    src = data_dir(tmp_path / "data", ["ab"])
    (src / "text").write_text("u0 ad\n")
    base = ["--data_dir", str(src), "--hop_length", "64", "--output", str(tmp_path / "d")]
    with pytest.raises(SystemExit):
        align_durations.main(["--asr_exp", str(asr_exp), "--asr_model", "model.pth", *base])
    assert "align_durations: error: u0: the ASR model has no token 'd'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        align_durations.main(["--asr_exp", str(asr_exp), *base])
    assert "missing file: " in capsys.readouterr().err
    (tmp_path / "tts.yaml").write_text("feats_extract_conf:\n    n_fft: 1024\n")
    with pytest.raises(SystemExit):
        align_durations.main(["--asr_exp", str(asr_exp), "--asr_model", "model.pth",
                              "--data_dir", str(src), "--tts_config", str(tmp_path / "tts.yaml"),
                              "--output", str(tmp_path / "d")])
    assert "tts.yaml: no feats_extract_conf.hop_length" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_takes_durations_reads_the_models_forward(tmp_path, capsys):
    assert [takes_durations(n) for n in ("fastspeech", "fastspeech2", "prodiff",
                                         "mamba_fastspeech", "espnet_mamba.mamba_fastspeech")
            ] == [True] * 5
    assert [takes_durations(n) for n in ("transformer", "tacotron2", "mamba_tts")] == [False] * 3
    for name, printed in (("fastspeech", "true"), ("transformer", "false")):
        (tmp_path / "c.yaml").write_text(f"tts: {name}\ntts_conf: {{}}\n")
        takes_durations_cli.main([str(tmp_path / "c.yaml")])
        assert capsys.readouterr().out == f"{printed}\n"
    for text, message in (("tts: nosuch\n", "--tts must be one of"),
                          ("optim: adam\n", "no `tts:` choice")):
        (tmp_path / "c.yaml").write_text(text)
        with pytest.raises(SystemExit) as done:
            takes_durations_cli.main([str(tmp_path / "c.yaml")])
        assert done.value.code == 2 and message in capsys.readouterr().err
