#!/usr/bin/env bash
# Debug TTS recipe on mini AN4 (4 training, 1 validation, 2 test utterances): every stage
# of ../../TEMPLATE/tts1/tts.sh with a tiny Mamba TTS, on a CPU in a couple of minutes.
#
#   ./run.sh [--an4 PATH/TO/mini_an4_downloads.tar.gz] [tts.sh options, e.g. --stage 5]
#
# Run it from this dir.  Without --an4 (or the MINI_AN4 variable) local/data.sh (the
# ASR recipe's, ../../asr1/local/data.sh) looks for the archive in ../../../../shared/data/.
# With --asr_model_dir ../asr1/exp/asr_train_asr_debug_raw_char (after ../asr1/run.sh)
# stage 7 also transcribes the synthesized speech.
set -euo pipefail

tts_opts=()
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
        *) tts_opts+=("$1"); shift ;;
    esac
done

exec ./tts.sh \
    --ngpu 0 \
    --nj 2 \
    --inference_nj 1 \
    --fs 16k \
    --token_type char \
    --train_set train_nodev \
    --valid_set train_dev \
    --test_sets "test" \
    --train_config conf/train_mamba_tts_debug.yaml \
    "${tts_opts[@]}"
