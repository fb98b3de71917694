"""ESPnet's Speech2Text decodes with the Mamba decoders (joint CTC/attention, with an
LM); a small ESPnet ASR model with project components learns on CPU."""
from pathlib import Path

import pytest
import torch
import yaml
from espnet2.bin.asr_inference import Speech2Text
from espnet2.tasks.asr import ASRTask
from espnet2.tasks.lm import LMTask

TOKENS = ["<blank>", "<unk>", "a", "b", "c", "d", "<sos/eos>"]


def save_model(task, conf: dict, tmp_path: Path, name: str, extra=()):
    """Build a model through ``task`` from ``conf`` and save config.yaml + weights."""
    (tmp_path / "tokens.txt").write_text("\n".join(TOKENS) + "\n")
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(conf))
    args = task.get_parser().parse_args(
        ["--config", str(tmp_path / f"{name}.yaml"),
         "--token_list", str(tmp_path / "tokens.txt"), *extra])
    model = task.build_model(args)
    config = tmp_path / f"{name}_config.yaml"
    config.write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), tmp_path / f"{name}.pth")
    return model, config, tmp_path / f"{name}.pth"


def asr_conf(encoder: str, decoder: str, mixer: str = "mamba") -> dict:
    mixer_conf = {"mixer": mixer, "headdim": 16, "chunk_size": 8} if mixer == "mamba2" else {}
    enc = {"output_size": 32, "num_blocks": 2, "d_state": 8, **mixer_conf}
    if encoder == "conmamba":
        enc.update(linear_units=64, cnn_module_kernel=7)
    dec = {"linear_units": 64, "num_blocks": 2, "d_state": 8, **mixer_conf}
    if decoder == "mamba":
        dec["attention_heads"] = 2
    return {"encoder": encoder, "encoder_conf": enc, "decoder": decoder, "decoder_conf": dec,
            "frontend_conf": {"n_fft": 256, "hop_length": 80, "n_mels": 20},
            "normalize": "utterance_mvn", "model_conf": {"ctc_weight": 0.3}}


@pytest.mark.parametrize("encoder,decoder,mixer", [
    ("conmamba", "mamba", "mamba"), ("mamba", "cross_mamba", "mamba"),
    ("conmamba", "mamba", "mamba2"), ("mamba", "cross_mamba", "mamba2")])
@pytest.mark.parametrize("with_lm", [False, True])
def test_speech2text_beam_search(encoder, decoder, mixer, with_lm, tmp_path):
    _, asr_config, asr_file = save_model(ASRTask, asr_conf(encoder, decoder, mixer), tmp_path,
                                         "asr")
    lm = {}
    if with_lm:
        lm_conf = {"lm": "seq_rnn", "lm_conf": {"unit": 16, "nlayers": 1}}
        _, lm_config, lm_file = save_model(LMTask, lm_conf, tmp_path, "lm")
        lm = dict(lm_train_config=str(lm_config), lm_file=str(lm_file), lm_weight=0.5)
    s2t = Speech2Text(asr_train_config=str(asr_config), asr_model_file=str(asr_file),
                      beam_size=3, ctc_weight=0.3, maxlenratio=0.3, nbest=2, device="cpu",
                      **lm)
    from espnet_mamba.compat import legacy_nets

    BatchBeamSearch = legacy_nets("batch_beam_search").BatchBeamSearch

    assert isinstance(s2t.beam_search, BatchBeamSearch)  # the cached batch path
    assert ("lm" in s2t.beam_search.full_scorers) == with_lm
    results = s2t(torch.randn(4000))
    assert len(results) == 2
    for text, tokens, ids, hyp in results:
        assert all(t in TOKENS for t in tokens) and hyp.yseq[0].item() == len(TOKENS) - 1


def test_small_model_learns_on_cpu(tmp_path):
    """Joint CTC/attention training with ConMamba + Mamba decoder: the loss falls."""
    torch.manual_seed(0)
    model, _, _ = save_model(ASRTask, asr_conf("conmamba", "mamba"), tmp_path, "asr")
    t = torch.arange(6000) / 8000
    speech = torch.stack([torch.sin(2 * torch.pi * 300 * t), torch.sin(2 * torch.pi * 900 * t)])
    lengths = torch.tensor([6000, 5000])
    text = torch.tensor([[2, 3, 4], [5, 4, -1]])
    text_lengths = torch.tensor([3, 2])
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(40):
        loss, stats, _ = model(speech, lengths, text, text_lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses
