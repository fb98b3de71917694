#!/usr/bin/env bash
# LJSpeech-1.1 (one female speaker, 24 h, 22.05 kHz): Mamba TTS vs ESPnet's
# Transformer-TTS at matched size (33M parameters).  GPU recipe: not run here.
#
#   ./run.sh [--ljspeech PATH/TO/LJSpeech-1.1] [tts.sh options]
#   ./run.sh --stage 5 --train_config conf/train_transformer_tts.yaml   # the baseline
#
# ESPnet's LJSpeech features (80 mel, n_fft 1024, hop 256, 80-7600 Hz) and split (the
# last 250 utterances for eval1, the 250 before for dev).  Characters with the tacotron
# cleaner; phonemes with --token_type phn --g2p g2p_en (needs g2p_en's model download).
# For CER/WER add --asr_model_dir <recipe>/exp/<asr exp> of an English ASR model (the
# speech is resampled to --asr_fs for it).
set -euo pipefail

tts_opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --ljspeech)
            [ $# -ge 2 ] || { echo "run.sh: --ljspeech needs the LJSpeech-1.1 dir" >&2; exit 1; }
            LJSPEECH=$(realpath "$2")
            export LJSPEECH
            shift 2 ;;
        *) tts_opts+=("$1"); shift ;;
    esac
done

exec ./tts.sh \
    --ngpu 1 \
    --nj 16 \
    --inference_nj 8 \
    --gpu_inference true \
    --fs 22050 \
    --lang en \
    --token_type char \
    --cleaner tacotron \
    --train_set tr_no_dev \
    --valid_set dev \
    --test_sets "dev eval1" \
    --train_config conf/train_mamba_tts.yaml \
    --inference_config conf/decode_tts.yaml \
    "${tts_opts[@]}"
