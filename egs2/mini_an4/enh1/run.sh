#!/usr/bin/env bash
# Speech enhancement (denoising + dereverberation) plumbing check on mini AN4 (4 training,
# 1 validation, 2 test utterances): every stage of ../../TEMPLATE/enh1/enh.sh with a tiny
# Mamba-TasNet; noise and RIRs from the archive are added on the fly in training.  A few
# minutes on CPU.
#
#   ./run.sh [--an4 PATH/TO/mini_an4_downloads.tar.gz] [enh.sh options, e.g. --stage 4]
#
# Run it from this dir.  Without --an4 (or the MINI_AN4 variable) local/data.sh looks for
# the archive in ../../../../shared/data/.
set -euo pipefail

enh_opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --an4)
            [ $# -ge 2 ] || { echo "run.sh: --an4 needs the path of the archive" >&2; exit 1; }
            MINI_AN4=$(realpath "$2")
            export MINI_AN4
            shift 2 ;;
        --an4=*)
            MINI_AN4=$(realpath "${1#*=}")
            export MINI_AN4
            shift ;;
        *) enh_opts+=("$1"); shift ;;
    esac
done

exec ./enh.sh \
    --ngpu 0 \
    --nj 1 \
    --inference_nj 1 \
    --fs 16k \
    --ref_num 1 \
    --train_set train_nodev \
    --valid_set train_dev \
    --test_sets "test" \
    --enh_config conf/train_enh_debug.yaml \
    "${enh_opts[@]}"
