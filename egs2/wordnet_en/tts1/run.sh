#!/usr/bin/env bash
# TTS that speaks open-vocabulary English: one voice (en-us+m1, fixed speed and pitch,
# 16 kHz) reading ../asr1's WordNet sentences; Mamba FastSpeech vs ESPnet's FastSpeech
# of matched size, both non-autoregressive on teacher durations from CTC forced alignment
# by ../asr1's ConMamba model, which also judges the synthesized test sentences (unseen
# by both) in stage 7; and ESPnet's autoregressive Transformer-TTS of matched size:
#
#   (cd ../asr1 && local/data.sh && ./run.sh)          # the aligner and judge, first
#   ./run.sh                                           # Mamba FastSpeech, stages 1-7
#   ./run.sh --stage 5 --train_config conf/train_fastspeech.yaml   # the ESPnet baseline
#   ./run.sh --stage 5 --train_config conf/train_transformer_tts.yaml   # autoregressive
#                                              # ESPnet Transformer-TTS (no teacher durations)
#
#   ./run.sh --asr_exp ../asr1/exp/asr_conmamba_seed1   # another ../asr1 model aligns and judges
#
# Needs Debian wordnet-base (and festival for ../asr1's corpus).  Other options go to tts.sh.
set -euo pipefail

asr_exp=../asr1/exp/asr_train_asr_conmamba_raw_char
args=()
while [ $# -gt 0 ]; do
    if [ "$1" = --asr_exp ]; then
        [ $# -ge 2 ] || { echo "run.sh: --asr_exp needs an experiment dir" >&2; exit 1; }
        asr_exp=$2
        shift 2
    else
        args+=("$1")
        shift
    fi
done
[ -e "${asr_exp}/config.yaml" ] || {
    echo "run.sh: no ASR experiment ${asr_exp}: its model aligns the durations and" \
        "judges the speech; train it first: (cd ../asr1 && local/data.sh && ./run.sh)" >&2
    exit 1
}

exec ./tts.sh \
    --ngpu 0 \
    --nj 2 \
    --inference_nj 2 \
    --fs 16k \
    --token_type char \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --train_config conf/train_mamba_fastspeech.yaml \
    --inference_config conf/decode_tts.yaml \
    --durations_asr_exp "${asr_exp}" \
    --asr_model_dir "${asr_exp}" \
    --asr_inference_config ../asr1/conf/decode_asr.yaml \
    "${args[@]}"
