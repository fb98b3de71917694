#!/usr/bin/env bash
# LibriSpeech 100h ASR on a GPU: the Conformer baseline (default) or ConMamba S/L.
#
#   LIBRISPEECH=DIR ./run.sh [--asr_config conf/train_asr_conmamba_s.yaml] [asr.sh options]
#
# DIR (default: downloads; or pass --local_data_opts DIR) holds LibriSpeech/ with the
# subsets train-clean-100, dev-clean, dev-other, test-clean and test-other.  Options given
# here override the defaults below (e.g. --ngpu 4, --stage 6, --use_lm true).  See README.md.
set -euo pipefail

exec ./asr.sh \
    --lang en \
    --ngpu 1 \
    --nj 16 \
    --inference_nj 16 \
    --token_type bpe \
    --nbpe 5000 \
    --max_wav_duration 30 \
    --speed_perturb_factors "0.9 1.0 1.1" \
    --train_set train_clean_100 \
    --valid_set dev \
    --test_sets "test_clean test_other dev_clean dev_other" \
    --bpe_train_text data/train_clean_100/text \
    --asr_config conf/train_asr_conformer.yaml \
    --lm_config conf/train_lm.yaml \
    --inference_config conf/decode_asr.yaml \
    "$@"
