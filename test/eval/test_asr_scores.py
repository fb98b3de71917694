"""ASR scoring (eval.asr, bin.score_asr) and its RESULTS.md, against hand-computed
examples and an independent edit distance."""
import json

import pytest

import random

import editdistance

from espnet_mamba.bin import score_asr, write_results
from espnet_mamba.eval.asr import Counts, align, chars, words


def ops(ref: str, hyp: str) -> str:
    return "".join(op for op, _, _ in align(ref.split(), hyp.split()))


def test_alignment_of_substitution_and_deletion():
    # the cat sat on the mat / the cat sit on mat: sat->sit, the deleted
    steps = align("the cat sat on the mat".split(), "the cat sit on mat".split())
    assert steps == [("C", "the", "the"), ("C", "cat", "cat"), ("S", "sat", "sit"),
                     ("C", "on", "on"), ("D", "the", None), ("C", "mat", "mat")]


@pytest.mark.parametrize("ref, hyp, expected", [
    ("a b", "a x b", "CIC"),
    ("a b c", "", "DDD"),
    ("", "x y", "II"),
    ("a b c d", "a c d e", "CDCCI"),
    ("a b", "b a", "DCI"),  # as cheap as S+S; sclite's weights (sub 4, ins/del 3) pick this too
    ("a b c", "a b c", "CCC"),
])
def test_alignment_ops(ref, hyp, expected):
    assert ops(ref, hyp) == expected


def test_alignment_is_minimal_edit_distance():
    ref, hyp = "k i t t e n".split(), "s i t t i n g".split()
    steps = align(ref, hyp)
    assert sum(op != "C" for op, _, _ in steps) == 3  # kitten -> sitting: 3 edits
    assert [r for _, r, _ in steps if r is not None] == ref
    assert [h for _, _, h in steps if h is not None] == hyp


def test_error_count_is_the_edit_distance():
    """Random edits of random sentences: the errors of the alignment are exactly the
    Levenshtein distance (editdistance, an independent implementation)."""
    rng = random.Random(0)
    vocab = "the a dog cat red sees big on in".split()
    for _ in range(500):
        ref = [rng.choice(vocab) for _ in range(rng.randint(0, 10))]
        hyp = [rng.choice(vocab) if rng.random() < 0.3 else w for w in ref
               if rng.random() > 0.2] + [rng.choice(vocab)] * rng.randint(0, 2)
        steps = align(ref, hyp)
        assert sum(op != "C" for op, _, _ in steps) == editdistance.eval(ref, hyp)
        assert [r for _, r, _ in steps if r is not None] == ref
        assert [h for _, _, h in steps if h is not None] == hyp


def test_char_tokens_count_spaces():
    assert chars("ab  cd") == ["a", "b", "<space>", "c", "d"]
    assert words(" ab  cd ") == ["ab", "cd"]


def test_counts_and_percentages():
    counts = Counts()
    counts.add(align("the cat sat on the mat".split(), "the cat sit on mat".split()))
    counts.add(align("a b".split(), "a b".split()))
    assert (counts.snt, counts.wrd, counts.corr, counts.sub, counts.dele, counts.ins,
            counts.snt_err) == (2, 8, 6, 1, 1, 0, 1)
    pct = counts.percentages()
    assert pct["Err"] == pytest.approx(25.0)  # 2 errors / 8 words
    assert pct["Corr"] == pytest.approx(75.0)
    assert pct["S.Err"] == pytest.approx(50.0)


def test_insertions_can_push_the_error_rate_over_100():
    counts = Counts()
    counts.add(align(["a"], "x y z".split()))
    assert (counts.sub, counts.ins) == (1, 2)
    assert counts.percentages()["Err"] == pytest.approx(300.0)


def test_score_dir_files(tmp_path):
    ref = tmp_path / "ref"
    hyp = tmp_path / "hyp"
    ref.write_text("u1 the cat sat\nu2 ab cd\n")
    hyp.write_text("u2 ab d\nu1 the bat sat on\n")
    score_asr.main(["--ref", str(ref), "--hyp", str(hyp), "--output_dir", str(tmp_path)])

    wer = json.loads((tmp_path / "score_wer" / "summary.json").read_text())
    # u1: bat for cat (S) and "on" inserted (I); u2: "d" for "cd" (S), "ab" correct
    assert wer == {"snt": 2, "wrd": 5, "corr": 3, "sub": 2, "dele": 0, "ins": 1, "snt_err": 2}
    cer = json.loads((tmp_path / "score_cer" / "summary.json").read_text())
    # u1: c->b (S) and "<space>on" inserted (3 I); u2: "c" deleted
    assert cer == {"snt": 2, "wrd": 16, "corr": 14, "sub": 1, "dele": 1, "ins": 3,
                   "snt_err": 2}

    result = (tmp_path / "score_wer" / "result.txt").read_text()
    assert result.splitlines()[:5] == [
        "id: (u1)",
        "Scores: (#C #S #D #I) 2 1 0 1",
        "REF:  the cat sat **",
        "HYP:  the bat sat on",
        "Eval:     S       I",
    ]
    assert "| Sum/Avg |     2      5 |   60.0   40.0    0.0   20.0   60.0  100.0 |" in result
    assert (tmp_path / "score_wer" / "hyp.trn").read_text() == "the bat sat on (u1)\nab d (u2)\n"
    assert (tmp_path / "score_cer" / "ref.trn").read_text().startswith(
        "t h e <space> c a t <space> s a t (u1)\n")


def test_word_errors_split_by_training_vocabulary(tmp_path, capsys):
    (tmp_path / "train").write_text("t1 the cat sat\nt2 on a mat\n")
    (tmp_path / "ref").write_text("u1 the zebra sat on a quilt\nu2 a cat naps\n")
    (tmp_path / "hyp").write_text("u1 the zebra sad on quilt x\nu2 a cap nap\n")
    score_asr.main(["--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"),
                    "--output_dir", str(tmp_path), "--vocab_text", str(tmp_path / "train")])
    # u1: the C, zebra C (oov), sat->sad S, on C, a D, quilt C (oov), x I (in neither)
    # u2: a C, cat->cap S, naps->nap S (oov)
    split = json.loads((tmp_path / "score_wer" / "vocabulary_split.json").read_text())
    assert split == {"in_vocab": {"words": 6, "errors": 3, "sub": 2, "del": 1},
                     "oov": {"words": 3, "errors": 1, "sub": 1, "del": 0}}
    out = capsys.readouterr().out
    assert "WER of in_vocab reference words (Sub+Del) 50.0% (3/6)" in out
    assert "WER of oov reference words (Sub+Del) 33.3% (1/3)" in out


def test_error_rates_by_speaker(tmp_path, capsys):
    (tmp_path / "ref").write_text("a_1 the cat\na_2 a dog\nb_1 on a mat\n")
    (tmp_path / "hyp").write_text("a_1 thecat\na_2 a dog\nb_1 in a mat\n")
    (tmp_path / "utt2spk").write_text("a_1 voice-a\na_2 voice-a\nb_1 festival:b\n")
    score_asr.main(["--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"),
                    "--output_dir", str(tmp_path), "--utt2spk", str(tmp_path / "utt2spk")])
    table = json.loads((tmp_path / "by_speaker.json").read_text())
    # voice-a: "the cat" -> "thecat" is 1 S + 1 D of 4 words, the space deleted (1 of
    # 7 + 5 characters), nothing wrong without spaces (0 of 10).  festival:b: on -> in,
    # 1 of 3 words, 1 of 8 characters, 1 of 6 without spaces.
    assert table == {
        "festival:b": {"utts": 1, "wer": {"errors": 1, "tokens": 3},
                       "cer": {"errors": 1, "tokens": 8},
                       "cer_nospace": {"errors": 1, "tokens": 6}},
        "voice-a": {"utts": 2, "wer": {"errors": 2, "tokens": 4},
                    "cer": {"errors": 1, "tokens": 12},
                    "cer_nospace": {"errors": 0, "tokens": 10}}}
    out = capsys.readouterr().out
    assert "festival:b     1   33.3   12.5   16.7\nvoice-a        2   50.0    8.3    0.0\n" in out
    (tmp_path / "utt2spk").write_text("a_1 voice-a\n")
    with pytest.raises(SystemExit):
        score_asr.main(["--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"),
                        "--output_dir", str(tmp_path), "--utt2spk",
                        str(tmp_path / "utt2spk")])
    assert ("score_asr: error: 2 utterance(s) have no speaker in utt2spk, e.g. a_2"
            in capsys.readouterr().err)


def test_missing_hypothesis_is_an_error(tmp_path, capsys):
    (tmp_path / "ref").write_text("u1 a\nu2 b\n")
    (tmp_path / "hyp").write_text("u1 a\n")
    with pytest.raises(SystemExit):
        score_asr.main(["--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"),
                        "--output_dir", str(tmp_path)])
    assert ("score_asr: error: 1 reference utterance(s) have no hypothesis, e.g. u2"
            in capsys.readouterr().err)
    with pytest.raises(SystemExit):
        score_asr.main(["--ref", str(tmp_path / "none"), "--hyp", str(tmp_path / "hyp"),
                        "--output_dir", str(tmp_path)])
    assert f"missing file: {tmp_path / 'none'} (references)" in capsys.readouterr().err


def test_empty_hypothesis_line_counts_as_deletions(tmp_path):
    (tmp_path / "ref").write_text("u1 a b\n")
    (tmp_path / "hyp").write_text("u1\n")
    score_asr.main(["--ref", str(tmp_path / "ref"), "--hyp", str(tmp_path / "hyp"),
                    "--output_dir", str(tmp_path)])
    wer = json.loads((tmp_path / "score_wer" / "summary.json").read_text())
    assert (wer["dele"], wer["wrd"]) == (2, 2)


def test_results_md_in_espnet_layout(tmp_path):
    exp = tmp_path / "asr_demo"
    for dset, hyp in (("test_a", "u1 the cat sat\n"), ("test_b", "u1 the bat\n")):
        (exp / "decode_asr" / dset).mkdir(parents=True)
        (tmp_path / "ref").write_text("u1 the cat sat\n")
        (exp / "decode_asr" / dset / "text").write_text(hyp)
        score_asr.main(["--ref", str(tmp_path / "ref"),
                        "--hyp", str(exp / "decode_asr" / dset / "text"),
                        "--output_dir", str(exp / "decode_asr" / dset)])
    write_results.main(["asr", str(exp)])
    text = (exp / "RESULTS.md").read_text()
    assert text.startswith("<!-- Generated by espnet_mamba.bin.write_results asr -->\n"
                           "# RESULTS\n## Environments\n")
    assert "- espnet version: `espnet " in text
    wer = text[text.index("### WER"):text.index("### CER")]
    assert wer.splitlines()[2:6] == [
        "|dataset|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|",
        "|---|---|---|---|---|---|---|---|---|",
        "|decode_asr/test_a|1|3|100.0|0.0|0.0|0.0|0.0|0.0|",
        "|decode_asr/test_b|1|3|33.3|33.3|33.3|0.0|66.7|100.0|",
    ]
    cer = text[text.index("### CER"):]
    # "the bat" against "the cat sat": 6 chars correct, c->b, "<space>sat" deleted (4)
    assert "|decode_asr/test_b|1|11|54.5|9.1|36.4|0.0|45.5|100.0|" in cer
