"""libespeak-ng through its C API (espeakng-loader's wheel): speech, voices, errors,
threads, and the engine note written beside the corpora."""
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from espnet_mamba.bin import make_espeak_corpus
from espnet_mamba.corpora.espeak_engine import (
    EspeakError,
    EspeakNG,
    engine_description,
    map_in_fresh_processes,
)

TEXT = "the red dog is in the kitchen"


def test_speaks_a_sentence_at_the_engine_rate():
    engine = EspeakNG.get()
    audio = engine.synthesize(TEXT, "en-us+m1", 160, 50)
    assert engine.sample_rate == 22050 and audio.dtype == np.float32
    assert 1.0 < len(audio) / engine.sample_rate < 3.0
    assert 0.05 < np.abs(audio).max() <= 1.0
    # speech, not a tone: the level changes between words
    frames = np.abs(audio[: len(audio) // 441 * 441]).reshape(-1, 441).max(1)
    assert frames.min() < 0.1 * frames.max()


def test_speed_and_voice_change_the_audio():
    engine = EspeakNG.get()
    slow = engine.synthesize(TEXT, "en-us+m1", 120, 50)
    fast = engine.synthesize(TEXT, "en-us+m1", 240, 50)
    assert len(fast) < 0.7 * len(slow)
    other = engine.synthesize(TEXT, "en-gb-x-rp+f2", 120, 50)
    assert len(other) != len(slow) or not np.array_equal(other, slow)


def test_language_codes_work_as_voice_names_as_with_the_program():
    engine = EspeakNG.get()
    for voice in ("en-gb+m3", "en-gb", "en-us+m1", "en-gb-scotland+f1", "en+f3"):
        engine.set_voice(voice)


JOBS = [(f"{TEXT} number {i}", "en-us+f2" if i % 2 else "en-gb+m3") for i in range(6)]


def _speak(job):
    return EspeakNG.get().synthesize(*job)


def test_fresh_processes_make_the_audio_independent_of_history():
    """The library carries state from sentence to sentence; fresh processes on fixed
    blocks give the same audio whatever this process spoke before."""
    first = map_in_fresh_processes(_speak, JOBS, 2)
    EspeakNG.get().synthesize("something else first", "en-us+m7")
    again = map_in_fresh_processes(_speak, JOBS, 2)
    assert len(first) == len(JOBS)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_unknown_voice_is_named():
    with pytest.raises(EspeakError, match="no voice 'xx-nowhere'"):
        EspeakNG.get().synthesize("hello", "xx-nowhere")


def test_threads_take_turns():
    engine = EspeakNG.get()
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda job: engine.synthesize(*job), JOBS))
    assert all(0.5 < len(a) / engine.sample_rate < 5 for a in together)


def test_engine_description_names_library_and_wheel_versions():
    assert re.fullmatch(r"libespeak-ng \d+\.\d+(\.\d+)? \(PyPI espeakng-loader \S+\)",
                        engine_description())


def test_every_generated_data_dir_names_its_engine_seed_and_voices(tmp_path):
    make_espeak_corpus.main(["--out", str(tmp_path / "data"), "--wavdir", str(tmp_path / "wav"),
                             "--num_train", "2", "--num_dev", "1", "--num_test", "2", "--seed", "7"])
    for dset in ("train", "dev", "test"):
        note = (tmp_path / "data" / dset / "synthesis").read_text().splitlines()
        assert note[0] == "text grammar: espnet_mamba.corpora.espeak_corpus"
        assert note[1] == f"engine {engine_description()}"
        assert note[2] == "seed 7"
        assert note[3].startswith("voices en-")
    assert "en-gb-x-gbclan+f5" in (tmp_path / "data" / "test" / "synthesis").read_text()
