#!/usr/bin/env bash
# TTS on a single-voice espeak-ng corpus (3000 training sentences, en-us+m1 at a fixed
# speed and pitch, 16 kHz; dev/test sentences unseen in training): Mamba TTS vs an ESPnet
# Transformer-TTS of matched size, same features, optimiser and number of updates.
#
#   ./run.sh                                                        # Mamba TTS, stages 1-7
#   ./run.sh --stage 5 --train_config conf/train_transformer_tts.yaml  # the Transformer baseline
#   local/data.sh --test_seed 1 && ./run.sh --stage 2 --test_sets test_seed1  # new test set
#
# Stage 7 transcribes the synthesized test set with the ASR model of ../asr1 (trained on
# 8 espeak voices including en-us+m1) when it exists: run ../asr1/run.sh first for
# CER/WER.  Speech: libespeak-ng from PyPI.  Other options go to tts.sh.
set -euo pipefail

asr_model_dir=../asr1/exp/asr_train_asr_conmamba_raw_char
asr_opts=()
if [ -e "${asr_model_dir}/valid.acc.ave.pth" ]; then
    asr_opts=(--asr_model_dir "${asr_model_dir}" --asr_inference_config ../asr1/conf/decode_asr.yaml)
else
    echo "run.sh: no ASR model in ${asr_model_dir}: stage 7 scores MCD only (run ../asr1/run.sh for CER/WER)"
fi

exec ./tts.sh \
    --ngpu 0 \
    --nj 2 \
    --inference_nj 2 \
    --fs 16k \
    --token_type char \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --train_config conf/train_mamba_tts.yaml \
    --inference_config conf/decode_tts.yaml \
    "${asr_opts[@]}" \
    "$@"
