#!/usr/bin/env bash
# 2-speaker separation on open-vocabulary synthetic mixtures (8 kHz; WordNet sentences by
# espeak-ng and Festival voices, from ../../wordnet_en/asr1's corpus): Mamba-TasNet vs
# Conv-TasNet vs DPRNN at matched sizes (1.4M parameters) and the same wall-clock budget
# (about 90 minutes of one core each; the configs' headers say how it was set):
#
#   (cd ../../wordnet_en/asr1 && local/data.sh)                  # the source corpus, once
#   ./run.sh                                                        # Mamba-TasNet
#   ./run.sh --stage 4 --enh_config conf/train_enh_conv_tasnet.yaml   # Conv-TasNet
#   ./run.sh --stage 4 --enh_config conf/train_enh_dprnn.yaml         # DPRNN
#
# Other options go to enh.sh.
set -euo pipefail

exec ./enh.sh \
    --ngpu 0 \
    --nj 1 \
    --inference_nj 1 \
    --fs 8k \
    --ref_num 2 \
    --train_set train \
    --valid_set dev \
    --test_sets "test_seen test_heldout" \
    --enh_config conf/train_enh_mamba_tasnet.yaml \
    "$@"
