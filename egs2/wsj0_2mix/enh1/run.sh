#!/usr/bin/env bash
# WSJ0-2mix 2-speaker separation on a GPU: Mamba-TasNet S (default), XS/M/L, or the
# Conv-TasNet / DPRNN baselines.
#
#   WSJ0_2MIX=DIR ./run.sh [--enh_config conf/train_enh_mamba_tasnet_m.yaml] [enh.sh options]
#
# DIR (default: downloads/wsj0-mix; or --local_data_opts DIR) is the dir the wsj0-2mix
# scripts wrote (it holds 2speakers/wav8k/min/{tr,cv,tt}).  Options given here override
# the defaults below (e.g. --ngpu 4, --stage 4).  See README.md.
set -euo pipefail

exec ./enh.sh \
    --fs 8k \
    --ngpu 1 \
    --nj 16 \
    --inference_nj 16 \
    --ref_num 2 \
    --audio_format wav \
    --max_wav_duration 30 \
    --train_set tr_min_8k \
    --valid_set cv_min_8k \
    --test_sets "tt_min_8k" \
    --enh_config conf/train_enh_mamba_tasnet_s.yaml \
    "$@"
