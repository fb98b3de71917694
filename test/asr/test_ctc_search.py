"""The linear time-synchronous CTC search equals ESPnet's BeamSearchTimeSync (CTC only),
which ``import espnet_mamba`` routes to it."""
import math

import pytest
import torch

from espnet_mamba.asr.ctc_search import PrefixTree, time_sync_ctc_search
from espnet_mamba.compat import legacy_nets

timesync = legacy_nets("beam_search_timesync")
VOCAB = 9


def make_search(beam_size: int, penalty: float):
    from espnet2.asr.ctc import CTC

    torch.manual_seed(0)
    ctc = CTC(odim=VOCAB, encoder_output_size=8)
    ctc.ctc_lo.weight.data.mul_(6.0)  # confident posteriors: long hypotheses, many repeats
    return timesync.BeamSearchTimeSync(
        beam_size=beam_size, weights={"ctc": 1.0, "decoder": 0.0, "lm": 0.0,
                                      "length_bonus": penalty},
        scorers={"ctc": ctc, "decoder": None}, sos=VOCAB - 1,
        token_list=[f"t{i}" for i in range(VOCAB)])


@pytest.mark.parametrize("beam_size,penalty", [(1, 0.0), (4, 0.0), (6, 0.7)])
def test_equals_espnets_search(beam_size, penalty):
    search = make_search(beam_size, penalty)
    x = torch.randn(400, 8, generator=torch.Generator().manual_seed(beam_size))
    with torch.no_grad():
        ours = search(x)  # routed by espnet_fixes
        espnet = timesync.BeamSearchTimeSync.forward.espnet_forward(search, x)
    assert len(ours) == len(espnet) == beam_size
    assert len(espnet[0].yseq) > 40  # long enough that the recursions all happen
    for a, b in zip(ours, espnet):
        assert a.yseq.tolist() == b.yseq.tolist()
        assert a.score == pytest.approx(float(b.score), abs=1e-9)


def test_search_by_hand():
    # Two frames, blank 0, sos 3, labels tried: 0, 1, 2.  "1": paths 11, 1-, -1 =
    # .36 + .18 + .18; "": -- = .09; "2": .07 and "1 2": .06 fall out of a beam of 2.
    log_probs = torch.tensor([[0.3, 0.6, 0.1, 0.0], [0.3, 0.6, 0.1, 0.0]]).log().numpy()
    found = time_sync_ctc_search(log_probs, beam_size=2, pre_beam_size=3, blank=0, sos=3)
    assert [labels for labels, _ in found] == [[3, 1], [3]]
    assert [score for _, score in found] == pytest.approx([math.log(0.72), math.log(0.09)])
    penalised = time_sync_ctc_search(log_probs, 2, 3, blank=0, sos=3, penalty=1.0)
    assert penalised[0][1] == pytest.approx(math.log(0.72) + 1.0)


def test_prefix_tree_shares_nodes():
    tree = PrefixTree(root_token=5)
    a = tree.extend(tree.extend(0, 1), 2)
    assert tree.extend(tree.extend(0, 1), 2) == a and tree.sequence(a) == [5, 1, 2]
    assert tree.extend(0, 2) != tree.extend(0, 1)


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match="at least one frame"):
        time_sync_ctc_search(torch.zeros(0, 4).numpy(), 2, 2, 0, 3)
