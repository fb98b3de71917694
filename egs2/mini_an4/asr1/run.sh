#!/usr/bin/env bash
# Debug ASR recipe on mini AN4 (4 training, 1 validation, 2 test utterances): every stage
# of ../../TEMPLATE/asr1/asr.sh with a tiny ConMamba model, on a CPU in a few minutes.
#
#   ./run.sh [--an4 PATH/TO/mini_an4_downloads.tar.gz] [asr.sh options, e.g. --stage 6]
#
# Run it from this dir.  Without --an4 (or the MINI_AN4 variable) local/data.sh looks for
# the archive in ../../../../shared/data/.  ./run.sh --use_lm true adds a tiny LSTM LM.
set -euo pipefail

asr_opts=()
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
        *) asr_opts+=("$1"); shift ;;
    esac
done

exec ./asr.sh \
    --ngpu 0 \
    --nj 2 \
    --inference_nj 2 \
    --token_type char \
    --train_set train_nodev \
    --valid_set train_dev \
    --test_sets "test" \
    --asr_config conf/train_asr_debug.yaml \
    --lm_config conf/train_lm_debug.yaml \
    --inference_config conf/decode_asr.yaml \
    --results_note "Plumbing check only: 4 training utterances cannot train a speech recognizer, so these error rates are not a result. For a model that learns, run egs2/espeak_quick/asr1 (the README's main job)." \
    "${asr_opts[@]}"
