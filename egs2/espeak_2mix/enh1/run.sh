#!/usr/bin/env bash
# 2-speaker separation on a synthetic espeak-ng mixture corpus (8 kHz, wsj0-2mix style:
# 1000 training mixtures of 8 voices, 30 dev; 100 test mixtures, each with one of 2
# held-out voices, unseen sentences).  Mamba-TasNet vs Conv-TasNet vs DPRNN at matched
# sizes (1.4M parameters) and the same training budget (360 updates):
#
#   ./run.sh                                                        # Mamba-TasNet
#   ./run.sh --stage 4 --enh_config conf/train_enh_conv_tasnet.yaml   # Conv-TasNet
#   ./run.sh --stage 4 --enh_config conf/train_enh_dprnn.yaml         # DPRNN
#   local/data.sh --test_seed 1 && ./run.sh --stage 2 --test_sets test_seed1   # new test set
#
# Speech: libespeak-ng from PyPI (installed with espnet-mamba).  Other options go to enh.sh.
set -euo pipefail

exec ./enh.sh \
    --ngpu 0 \
    --nj 1 \
    --inference_nj 1 \
    --fs 8k \
    --ref_num 2 \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --enh_config conf/train_enh_mamba_tasnet.yaml \
    "$@"
