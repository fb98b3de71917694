#!/usr/bin/env bash
# The main job: a ConMamba ASR model learns from synthetic speech and recognizes sentences
# it never heard, by voices it never heard, on a 2-core CPU in about 15 minutes (stages
# 1-8 of ../../TEMPLATE/asr1/asr.sh). Speech: libespeak-ng from PyPI, installed with
# espnet-mamba (no apt-get).
#
#   ./run.sh [asr.sh options]
#
# 1500 training sentences by 8 voices; test sentences unseen in training, spoken by the
# training voices (data/test_seen) and by 2 held-out voices (data/test_heldout).
set -euo pipefail

exec ./asr.sh \
    --ngpu 0 \
    --nj 2 \
    --inference_nj 2 \
    --token_type char \
    --train_set train \
    --valid_set dev \
    --test_sets "test_seen test_heldout" \
    --asr_config conf/train_asr_conmamba_ctc.yaml \
    --inference_config conf/decode_asr_ctc.yaml \
    --inference_asr_model valid.loss.ave.pth \
    --results_note "ConMamba (CTC, characters) trained on 1500 synthetic sentences by 8 espeak-ng voices; every test sentence is unseen in training; test_heldout is spoken by 2 voices never heard in training." \
    "$@"
