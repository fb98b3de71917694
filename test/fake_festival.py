"""A stand-in ``festival`` program for tests on machines without Debian's Festival: it
runs the Scheme subset that ``espnet_mamba.corpora.festival_engine`` writes, speaking
each text as a tone of 0.05 s per character times ``Duration_Stretch`` at 32 kHz, and
knows the three voices of the festvox packages."""
import os
import stat
import sys
from pathlib import Path

VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")

FAKE = r'''#!PYTHON
import re, sys, numpy as np, soundfile as sf
if sys.argv[1] == "--version":
    print("festival: Festival Speech Synthesis System: 2.5.0:release December 2017")
    sys.exit(0)
voices, stretch, count = set(VOICES), 1.0, 0
for line in open(sys.argv[2]):
    m = re.fullmatch(r"\(voice_(\w+)\)\n", line)
    if m and m.group(1) not in voices:
        print(f"SIOD ERROR: unbound variable : voice_{m.group(1)}", file=sys.stderr)
        sys.exit(255)
    m = re.fullmatch(r"\(Parameter.set 'Duration_Stretch ([\d.]+)\)\n", line)
    if m:
        stretch = float(m.group(1))
    m = re.fullmatch(r'\(utt.save.wave \(utt.synth \(Utterance Text "(.*)"\)\) "(.*)" \'riff\)\n',
                     line)
    if m:
        n = int(len(m.group(1)) * 0.05 * stretch * 32000)
        sf.write(m.group(2), 0.5 * np.sin(np.arange(n) * 0.1), 32000, subtype="PCM_16")
        count += 1
with open(LOG, "a") as f:
    f.write(f"{count}\n")
'''


def install_fake_festival(root: Path, monkeypatch=None) -> Path:
    """Write ``root/bin/festival``; put it first on PATH (through ``monkeypatch`` when
    given); returns the log it appends each call's number of sentences to."""
    bindir = root / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    program = bindir / "festival"
    log = root / "festival_calls.log"
    program.write_text(FAKE.replace("PYTHON", sys.executable)
                       .replace("set(VOICES)", repr(set(VOICES)))
                       .replace("LOG", repr(str(log))))
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    if monkeypatch is not None:
        monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log
