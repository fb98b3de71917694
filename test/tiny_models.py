"""Tiny saved models (config + weights) shared by the tests of several packages."""
from pathlib import Path

import numpy as np
import torch
import yaml
from espnet2.tasks.asr import ASRTask

TOKENS = ["<blank>", "<unk>", "a", "b", "c", "<sos/eos>"]
SR = 8000


def build_model(tmp_path: Path, normalize: str = "global_mvn", bidirectional: bool = False,
                num_blocks: int = 2, encoder: str = "mamba", **encoder_conf):
    """A tiny CTC-only ASR model (``mamba`` encoder unless ``encoder`` names another,
    with ``encoder_conf`` added); saved as config + weights."""
    stats = tmp_path / "feats_stats.npz"
    rng = np.random.default_rng(0)
    np.savez(stats, count=np.array(100), sum=rng.normal(size=20) * 100,
             sum_square=np.full(20, 400.0))
    conf = {
        "encoder": encoder,
        "encoder_conf": {"output_size": 32, "num_blocks": num_blocks, "d_state": 8,
                         **({"bidirectional": bidirectional} if encoder == "mamba" else {}),
                         **encoder_conf},
        "frontend_conf": {"fs": SR, "n_fft": 128, "hop_length": 40, "n_mels": 20},
        "normalize": normalize,
        "normalize_conf": {"stats_file": str(stats)} if normalize == "global_mvn" else {},
        "model_conf": {"ctc_weight": 1.0}, "token_type": "char",
    }
    (tmp_path / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    (tmp_path / "conf.yaml").write_text(yaml.safe_dump(conf))
    args = ASRTask.get_parser().parse_args(
        ["--config", str(tmp_path / "conf.yaml"), "--token_list", str(tmp_path / "tokens.txt")])
    model = ASRTask.build_model(args).eval()
    with torch.no_grad():  # make the random CTC head emit blanks and tokens
        model.ctc.ctc_lo.weight.mul_(20)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), tmp_path / "model.pth")
    return model


def audio(seconds: float) -> torch.Tensor:
    t = torch.arange(int(seconds * SR)) / SR
    return 0.3 * torch.sin(2 * torch.pi * (300 + 200 * torch.sin(t)) * t) + 0.05 * torch.randn(
        t.shape)


TONES = {"a": 500.0, "b": 1000.0, "c": 1800.0}


def tone_utterance(text: str, rng: np.random.Generator) -> np.ndarray:
    """Each character a 0.15 s tone of its own pitch (:data:`TONES`), 0.05 s gaps."""
    pieces = [np.zeros(int(0.05 * SR))]
    for ch in text:
        t = np.arange(int(0.15 * SR)) / SR
        pieces += [0.3 * np.sin(2 * np.pi * TONES[ch] * t), np.zeros(int(0.05 * SR))]
    speech = np.concatenate(pieces)
    return (speech + 0.01 * rng.standard_normal(speech.shape)).astype(np.float32)


def train_briefly(model, tmp_path: Path, steps: int = 300, seed: int = 0):
    """Train a :func:`build_model` model on tone sequences until it spells them; set its
    ``global_mvn`` statistics from the training features; save the weights again."""
    rng = np.random.default_rng(seed)
    texts = ["".join(rng.choice(list(TONES), size=rng.integers(2, 5))) for _ in range(8)]
    waves = [torch.from_numpy(tone_utterance(t, rng)) for t in texts]
    lengths = torch.tensor([len(w) for w in waves])
    speech = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    ids = [torch.tensor([TOKENS.index(ch) for ch in t]) for t in texts]
    text = torch.nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=-1)
    text_lengths = torch.tensor([len(i) for i in ids])
    if model.normalize is not None:
        with torch.no_grad():
            feats, flens = model.frontend(speech, lengths)
            frames = torch.cat([f[:n] for f, n in zip(feats, flens)])
            model.normalize.mean.copy_(frames.mean(0))
            model.normalize.std.copy_(frames.std(0))
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(speech, lengths, text, text_lengths)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    torch.save(model.state_dict(), tmp_path / "model.pth")


TTS_TOKENS = ["<blank>", "<unk>", "a", "b", "c", "<space>", "<sos/eos>"]
N_MELS = 20
TINY_TTS_CONF = dict(adim=32, num_blocks=2, d_state=8, dprenet_units=16,
                     postnet_layers=1, postnet_units=16)


def write_tts_files(root: Path) -> dict:
    """Token list and global_mvn statistics for a 20-bin fbank."""
    root.mkdir(parents=True, exist_ok=True)
    token_list = root / "tokens.txt"
    token_list.write_text("\n".join(TTS_TOKENS) + "\n")
    stats = root / "feats_stats.npz"
    np.savez(stats, count=np.array(100.0), sum=np.full(N_MELS, -300.0),
             sum_square=np.full(N_MELS, 1000.0))
    return dict(token_list=token_list, stats=stats)


def parse_tts_args(config: Path, files: dict):
    from espnet2.tasks.tts import TTSTask

    return TTSTask.get_parser().parse_args([
        "--config", str(config), "--token_list", str(files["token_list"]),
        "--token_type", "char", "--normalize_conf", f"stats_file={files['stats']}",
    ])


def tts_task_config(root: Path, tts: str = "mamba_tts", tts_conf: dict = None) -> Path:
    """A saved TTSTask config (as training writes it) naming ``tts`` with ``tts_conf``
    (default: a tiny ``mamba_tts``, reduction factor 2), 20 mel bins at 8 kHz; returns
    its path."""
    from espnet2.tasks.tts import TTSTask

    files = write_tts_files(root)
    conf = root / "train.yaml"
    conf.write_text(yaml.safe_dump({
        "feats_extract": "fbank",
        "feats_extract_conf": {"fs": 8000, "n_fft": 256, "hop_length": 64, "n_mels": N_MELS,
                               "fmin": 0, "fmax": 4000},
        "normalize": "global_mvn",
        "tts": tts,
        "tts_conf": tts_conf or dict(TINY_TTS_CONF, reduction_factor=2),
    }))
    args = parse_tts_args(conf, files)
    TTSTask.build_model(args)  # makes token_list a list, as training does
    saved = root / "config.yaml"
    saved.write_text(yaml.safe_dump(vars(args)))
    return saved


def build_enh(root: Path, **separator_conf):
    """A tiny ESPnet enhancement model (conv 16/8 encoder/decoder, ``separator: mamba``
    d_model 16, 2 layers, d_state 4, ``separator_conf`` added); saved as
    ``config.yaml`` + ``model.pth`` in ``root``."""
    from espnet2.tasks.enh import EnhancementTask

    conf = {
        "encoder": "conv", "encoder_conf": {"channel": 16, "kernel_size": 16, "stride": 8},
        "decoder": "conv", "decoder_conf": {"channel": 16, "kernel_size": 16, "stride": 8},
        "separator": "mamba",
        "separator_conf": {"d_model": 16, "num_layers": 2, "d_state": 4, **separator_conf},
        "criterions": [{"name": "si_snr", "conf": {}, "wrapper": "pit",
                        "wrapper_conf": {"weight": 1.0, "independent_perm": True}}],
    }
    (root / "enh.yaml").write_text(yaml.safe_dump(conf))
    args = EnhancementTask.get_parser().parse_args(["--config", str(root / "enh.yaml")])
    model = EnhancementTask.build_model(args).eval()
    (root / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), root / "model.pth")
    return model
