#!/usr/bin/env bash
# ASR on an open-vocabulary synthetic corpus: 10000 WordNet usage examples spoken by 8
# espeak-ng and 2 Festival voices; test sentences unseen in training (12% of their words
# too), by the training voices (data/test_seen) and by 3 held-out voices
# (data/test_heldout).  ConMamba vs a Conformer of matched size, same budget:
#
#   ./run.sh                                                        # ConMamba
#   ./run.sh --stage 6 --asr_config conf/train_asr_conformer.yaml   # Conformer baseline
#   ./run.sh --stage 6 --asr_args "--seed 1" --asr_tag conmamba_seed1   # another seed
#   ./run.sh --stage 5 --use_lm true --inference_config conf/decode_asr_lm.yaml   # + char LM
#
# Needs Debian packages (local/data.sh names them).  Other options go to asr.sh.
set -euo pipefail

exec ./asr.sh \
    --ngpu 0 \
    --nj 2 \
    --inference_nj 2 \
    --token_type char \
    --train_set train \
    --valid_set dev \
    --test_sets "test_seen test_heldout" \
    --asr_config conf/train_asr_conmamba.yaml \
    --inference_config conf/decode_asr.yaml \
    --lm_config conf/train_lm.yaml \
    --lm_train_text data/lm_train/text \
    --score_by_speaker true \
    "$@"
