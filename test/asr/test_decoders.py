"""Mamba and CrossMamba decoders, with either mixer: cached beam-search scoring equals the
teacher-forced forward, states stay fixed-size, memory padding is respected."""
import pytest
import torch

from espnet_mamba.asr.decoder.cross_mamba_decoder import CrossMambaDecoder
from espnet_mamba.asr.decoder.mamba_decoder import MambaDecoder

VOCAB, ENC = 11, 24


KINDS = ["mamba", "cross_mamba"]
MIXERS = ["mamba", "mamba2"]
# Mamba-2: heads of 16 channels, chunks of 4 tokens (the sequences span several chunks)
MAMBA2 = dict(mixer="mamba2", headdim=16, chunk_size=4)


def make(kind, mixer="mamba"):
    torch.manual_seed(0)
    conf = dict(linear_units=32, num_blocks=2, d_state=4, **(MAMBA2 if mixer == "mamba2" else {}))
    if kind == "mamba":
        return MambaDecoder(VOCAB, ENC, attention_heads=2, **conf).eval()
    return CrossMambaDecoder(VOCAB, ENC, output_size=16, **conf).eval()


@pytest.mark.parametrize("kind", KINDS)
def test_builds_from_vocab_and_encoder_size_alone(kind):
    cls = MambaDecoder if kind == "mamba" else CrossMambaDecoder
    dec = cls(VOCAB, ENC)
    logits, lens = dec(torch.randn(2, 9, ENC), torch.tensor([9, 5]),
                       torch.randint(0, VOCAB, (2, 4)), torch.tensor([4, 2]))
    assert logits.shape == (2, 4, VOCAB) and lens.tolist() == [4, 2]


@pytest.mark.parametrize("mixer", MIXERS)
@pytest.mark.parametrize("kind", KINDS)
def test_batch_score_equals_teacher_forced_forward(kind, mixer):
    dec = make(kind, mixer)
    memory = torch.randn(1, 13, ENC)
    ys = torch.randint(0, VOCAB, (1, 9))
    logits, _ = dec(memory, torch.tensor([13]), ys, torch.tensor([9]))
    full = torch.log_softmax(logits, -1)[0]
    # Three hypotheses in one batch, sharing the utterance, with different prefixes.
    hyps = [ys[0].clone(), torch.randint(0, VOCAB, (9,)), ys[0].clone()]
    states = [dec.batch_init_state(memory[0]) for _ in hyps]
    for k in range(9):
        prefix = torch.stack([h[: k + 1] for h in hyps])
        logp, states = dec.batch_score(prefix, states, memory.expand(3, -1, -1))
        torch.testing.assert_close(logp[0], full[k], rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(logp[2], full[k], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mixer", MIXERS)
@pytest.mark.parametrize("kind", KINDS)
def test_score_reads_only_the_newest_token_and_state_is_fixed_size(kind, mixer):
    dec = make(kind, mixer)
    memory = torch.randn(13, ENC)
    state = dec.init_state(memory)
    shapes = [(tuple(conv.shape), tuple(ssm.shape)) for conv, ssm in state]
    ys = torch.randint(0, VOCAB, (30,))
    for k in range(30):
        logp, new_state = dec.score(ys[: k + 1], state, memory)
        assert [(tuple(conv.shape), tuple(ssm.shape)) for conv, ssm in new_state] == shapes
        # The earlier tokens are not re-read: changing them changes nothing.
        garbage = ys[: k + 1].clone()
        garbage[:-1] = (garbage[:-1] + 1) % VOCAB
        torch.testing.assert_close(dec.score(garbage, state, memory)[0], logp)
        state = new_state


@pytest.mark.parametrize("mixer", MIXERS)
@pytest.mark.parametrize("kind", KINDS)
def test_memory_padding_is_ignored(kind, mixer):
    dec = make(kind, mixer)
    memory = torch.randn(2, 20, ENC)
    memory[1, 12:] = 50.0
    ys = torch.randint(0, VOCAB, (2, 6))
    logits, _ = dec(memory, torch.tensor([20, 12]), ys, torch.tensor([6, 4]))
    alone, _ = dec(memory[1:, :12], torch.tensor([12]), ys[1:, :4], torch.tensor([4]))
    torch.testing.assert_close(logits[1, :4], alone[0], rtol=1e-5, atol=1e-5)


def test_cross_mamba_scans_memory_once_per_utterance(monkeypatch):
    dec = make("cross_mamba")
    memory = torch.randn(17, ENC)
    seen = []
    for layer in dec.decoders:
        original = layer.forward_chunk

        def spy(x, state, *args, _orig=original, **kw):
            seen.append(x.shape[1])
            return _orig(x, state, *args, **kw)

        monkeypatch.setattr(layer, "forward_chunk", spy)
    state = dec.batch_init_state(memory)
    ys = torch.randint(0, VOCAB, (8,))
    for k in range(8):
        _, state = dec.score(ys[: k + 1], state, memory)
    assert seen == [17, 17] + [1] * 16  # memory once per layer, then one token per step


def test_bad_attention_heads():
    with pytest.raises(ValueError, match="attention_heads"):
        MambaDecoder(VOCAB, ENC, attention_heads=0)


@pytest.mark.parametrize("kind", KINDS)
def test_mixer_mamba2_builds_mamba2_blocks_and_checks_its_knobs(kind):
    from espnet_mamba.modules import Mamba2

    dec = make(kind, "mamba2")
    assert all(isinstance(layer.mamba, Mamba2) and layer.mamba.headdim == 16
               for layer in dec.decoders)
    state = dec.init_state(torch.randn(5, ENC))
    size = dec.after_norm.normalized_shape[0]
    assert state[0][1].shape == (2 * size // 16, 16, 4)  # (heads, headdim, d_state)
    cls = MambaDecoder if kind == "mamba" else CrossMambaDecoder
    with pytest.raises(ValueError, match="headdim=20 must divide d_inner"):
        cls(VOCAB, ENC, mixer="mamba2", headdim=20)
    with pytest.raises(ValueError, match="mixer"):
        cls(VOCAB, ENC, mixer="s4")
