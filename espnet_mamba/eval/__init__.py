"""Scoring of the three tasks from maintained libraries, and the RESULTS.md renderer.

``asr`` (kaldialign alignments), ``enh`` (fast_bss_eval, pystoi, pesq), ``tts`` (WORLD,
pysptk, librosa), ``results`` (one RESULTS.md layout and environment block).  Nothing
here imports the project's models or ESPnet's model stack.
"""
