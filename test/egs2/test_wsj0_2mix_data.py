"""egs2/wsj0_2mix/enh1/local/data.sh on a fake wsj0-2mix tree."""
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
DATA_SH = REPO / "egs2" / "wsj0_2mix" / "enh1" / "local" / "data.sh"
MIXTURES = {"tr": ["011a010d_0.54422_20do010c_-0.54422", "40na010x_1.2_02cc0201_-1.2"],
            "cv": ["01aa010k_0.8_40ec0208_-0.8"],
            "tt": ["050a050a_0.3_446o030r_-0.3", "22ga010b_2.0_440c020e_-2.0"]}


def read_table(path: Path) -> dict:
    return dict(line.split(" ", 1) for line in path.read_text().splitlines())


def write_fake_wsj0_2mix(root: Path, rate: str = "8k", mode: str = "min") -> Path:
    base = root / "2speakers" / f"wav{rate}" / mode
    for part, ids in MIXTURES.items():
        for sub in ("mix", "s1", "s2"):
            (base / part / sub).mkdir(parents=True)
            for utt in ids:
                sf.write(base / part / sub / f"{utt}.wav", np.zeros(800, np.float32), 8000)
    return base


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(DATA_SH), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_data_dirs(tmp_path):
    base = write_fake_wsj0_2mix(tmp_path / "wsj0-mix")
    proc = run(tmp_path, str(tmp_path / "wsj0-mix"))
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "data"
    assert sorted(p.name for p in data.iterdir()) == ["cv_min_8k", "tr_min_8k", "tt_min_8k"]
    tr = data / "tr_min_8k"
    utt = "011a010d_0.54422_20do010c_-0.54422"
    assert list(read_table(tr / "wav.scp")) == sorted(MIXTURES["tr"])
    for table, sub in (("wav.scp", "mix"), ("spk1.scp", "s1"), ("spk2.scp", "s2")):
        assert read_table(tr / table)[utt] == str(base / "tr" / sub / f"{utt}.wav")
    assert read_table(tr / "utt2spk") == {utt: "011_20d",
                                          "40na010x_1.2_02cc0201_-1.2": "40n_02c"}
    assert read_table(tr / "spk2utt")["011_20d"] == utt
    assert len(read_table(data / "tt_min_8k" / "spk2.scp")) == 2
    assert not list(data.glob("*.tmp"))


def test_other_rate_and_mode(tmp_path):
    write_fake_wsj0_2mix(tmp_path / "w", rate="16k", mode="max")
    proc = run(tmp_path, str(tmp_path / "w"), "--sample_rate", "16k", "--min_or_max", "max")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "data" / "tt_max_16k" / "spk1.scp").is_file()


def test_missing_source_and_tree_are_named(tmp_path):
    base = write_fake_wsj0_2mix(tmp_path / "w")
    (base / "cv" / "s2" / "01aa010k_0.8_40ec0208_-0.8.wav").unlink()
    proc = run(tmp_path, str(tmp_path / "w"))
    assert proc.returncode != 0
    assert "1 mixture(s) of" in proc.stderr and "cv/s2" in proc.stderr
    assert "01aa010k_0.8_40ec0208_-0.8.wav" in proc.stderr
    assert not (tmp_path / "data" / "cv_min_8k").exists()

    proc = run(tmp_path, str(tmp_path / "nowhere"))
    assert proc.returncode != 0
    assert f"missing {tmp_path / 'nowhere'}/2speakers/wav8k/min/tr/mix" in proc.stderr
    proc = run(tmp_path, str(tmp_path / "w"), "--sample_rate", "44k")
    assert proc.returncode != 0 and "--sample_rate must be 8k or 16k" in proc.stderr
