#!/usr/bin/env bash
# ASR on a synthetic espeak-ng corpus (2400 training sentences, 8 voices, random speeds;
# dev/test with unseen sentences, test half by 2 unseen voices), large enough to learn on
# a CPU in well under an hour.  ConMamba vs a Conformer of matched size, same budget:
#
#   ./run.sh                                                   # ConMamba
#   ./run.sh --stage 6 --asr_config conf/train_asr_conformer.yaml   # Conformer baseline
#   local/data.sh --test_seed 1 && ./run.sh --stage 7 --test_sets test_seed1   # new test set
#
# Speech: libespeak-ng from PyPI (installed with espnet-mamba).  Other options go to asr.sh.
set -euo pipefail

exec ./asr.sh \
    --ngpu 0 \
    --nj 2 \
    --inference_nj 2 \
    --token_type char \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --asr_config conf/train_asr_conmamba.yaml \
    --inference_config conf/decode_asr.yaml \
    "$@"
