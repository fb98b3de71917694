"""corpora.wordnet_text: WordNet usage examples as open-vocabulary sentences, and the OOV
rates; make_espeak_corpus --text wordnet on a small database in WordNet's file format."""
import random

import pytest

from espnet_mamba.bin import make_espeak_corpus, write_lm_text
from espnet_mamba.corpora import wordnet_text
from espnet_mamba.corpora.espeak_corpus import draw
from espnet_mamba.data import DataError

# Lines in the format of WordNet 3.0's data.* files (a licence header line, then synsets
# whose gloss, after "|", holds quoted usage examples).
HEADER = "  1 This software and database is being provided to you \"AS IS\"\n"
DATA = {
    "noun": ['00001740 03 n 01 entity 0 000 | that which is perceived; "the entity was '
             'large and strange"; "an entity of 2 kinds"\n',
             '00002137 03 n 02 abstraction 0 | a general concept; "he took a well-known '
             'view of it"; "too short"\n'],
    "verb": ['00001740 29 v 04 breathe 0 | draw air; "she breathed deeply in the cold '
             'morning air"; "the entity was large and strange"\n'],
    "adj": ['00001740 00 a 01 able 0 | having the means; "we were at last able to buy a '
            'car"; "the café opened late today"\n'],
    "adv": ['00001837 02 r 01 barely 0 | only just; "we barely made it to the station '
            'on time!"\n'],
}


def write_database(root):
    root.mkdir(parents=True, exist_ok=True)
    for part, lines in DATA.items():
        (root / f"data.{part}").write_text(HEADER + "".join(lines), encoding="latin-1")
    return root


@pytest.mark.parametrize("text, expected", [
    ("he took a well-known view of it", "HE TOOK A WELL KNOWN VIEW OF IT"),
    ("by and by he'll understand!", "BY AND BY HE'LL UNDERSTAND"),
    ("we were, at last; able to buy a car.", "WE WERE AT LAST ABLE TO BUY A CAR"),
    ("an entity of 2 kinds", None),          # a digit
    ("too short", None),                     # under 5 words
    ("the 'quoted' word is here today", None),  # an apostrophe outside a word
    ("the café opened late today", None),    # not A-Z
    (" ".join(["word"] * 17), None),         # over 16 words
])
def test_normalize(text, expected):
    assert wordnet_text.normalize(text) == expected


def test_sentences_reads_every_part_skips_the_header_and_deduplicates(tmp_path):
    root = write_database(tmp_path / "wn")
    assert wordnet_text.sentences(root) == [
        "THE ENTITY WAS LARGE AND STRANGE",  # noun; the verb file's copy is dropped
        "HE TOOK A WELL KNOWN VIEW OF IT",
        "SHE BREATHED DEEPLY IN THE COLD MORNING AIR",
        "WE WERE AT LAST ABLE TO BUY A CAR",
        "WE BARELY MADE IT TO THE STATION ON TIME",
    ]


def test_missing_database_file_is_named(tmp_path):
    root = write_database(tmp_path / "wn")
    (root / "data.adv").unlink()
    with pytest.raises(DataError, match=r"data\.adv not found: apt-get install wordnet-base"):
        wordnet_text.sentences(root)


def test_oov_rates():
    train = ["A B C", "C D"]
    test = ["A B E", "F F", "D C"]  # tokens: E, F, F of 7 unseen; 2 of 3 sentences
    assert wordnet_text.oov_rates(train, test) == pytest.approx((3 / 7, 2 / 3))
    assert wordnet_text.oov_rates(train, []) == (0.0, 0.0)


def test_draw_excludes_and_fails_by_name():
    pool = ["S1", "S2", "S3", "S4"]
    first = draw(pool, 2, random.Random(0), set())
    second = draw(pool, 2, random.Random(0), set(first))
    assert len(set(first)) == 2 and sorted(first + second) == pool
    with pytest.raises(DataError, match="only 2 new sentences of 3"):
        draw(pool, 3, random.Random(0), set(first))


def test_corpus_from_wordnet_reports_oov(tmp_path, capsys):
    root = write_database(tmp_path / "wn")
    make_espeak_corpus.main(["--out", str(tmp_path / "data"), "--wavdir", str(tmp_path / "wav"),
                             "--text", "wordnet", "--wordnet_dir", str(root),
                             "--num_train", "2", "--num_dev", "1", "--num_test", "2",
                             "--voices", "en-us+m1", "--held_out_voices", "en-gb+m3",
                             "--jobs", "1"])
    out = capsys.readouterr().out
    texts = {d: set(l.split(" ", 1)[1] for l in (tmp_path / "data" / d / "text")
                    .read_text().splitlines()) for d in ("train", "dev", "test")}
    assert set().union(*texts.values()) == set(wordnet_text.sentences(root))
    tokens, with_oov = wordnet_text.oov_rates(texts["train"], texts["test"])
    line = (f"oov {tokens:.4f} of the test words are not in the training text; "
            f"{with_oov:.4f} of the test sentences hold one")
    assert f"test: {line}" in out
    note = (tmp_path / "data" / "test" / "synthesis").read_text()
    assert note.startswith("text wordnet: usage examples of WordNet 3.0") and line in note
    assert "oov" not in (tmp_path / "data" / "train" / "synthesis").read_text()


def test_too_few_wordnet_sentences_is_an_error(tmp_path, capsys):
    root = write_database(tmp_path / "wn")
    with pytest.raises(SystemExit):
        make_espeak_corpus.main(["--out", str(tmp_path / "data"), "--wavdir",
                                 str(tmp_path / "wav"), "--text", "wordnet", "--wordnet_dir",
                                 str(root), "--num_train", "3", "--num_dev", "1",
                                 "--num_test", "2"])
    assert "the text source has only 1 new sentences of 2" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_lm_text_leaves_out_the_evaluation_sentences(tmp_path, capsys):
    root = write_database(tmp_path / "wn")
    (tmp_path / "dev").write_text("a_dv0 HE TOOK A WELL KNOWN VIEW OF IT\n")
    (tmp_path / "test").write_text("b_ts0 WE BARELY MADE IT TO THE STATION ON TIME\n"
                                   "c_th1 A SENTENCE THAT WORDNET DOES NOT HOLD\n")
    out = tmp_path / "lm" / "text"
    write_lm_text.main(["--exclude", str(tmp_path / "dev"), str(tmp_path / "test"),
                        "--out", str(out), "--wordnet_dir", str(root)])
    assert out.read_text() == ("wordnet_00000 THE ENTITY WAS LARGE AND STRANGE\n"
                               "wordnet_00001 SHE BREATHED DEEPLY IN THE COLD MORNING AIR\n"
                               "wordnet_00002 WE WERE AT LAST ABLE TO BUY A CAR\n")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"{out}: 3 sentences, 23 words (3 excluded)"
    # dev: HE TOOK WELL KNOWN VIEW OF IT are not in the LM text, A is: 7 of 8 words
    assert printed[1] == f"{tmp_path / 'dev'}: 0.8750 of its words are not in the LM text"
    with pytest.raises(SystemExit):
        write_lm_text.main(["--exclude", str(tmp_path / "nosuch"), "--out", str(out),
                            "--wordnet_dir", str(root)])
    assert "missing file: " in capsys.readouterr().err
