#!/usr/bin/env bash
# A single-voice TTS corpus of ../asr1's open-vocabulary sentences (WordNet 3.0's usage
# examples): the same seed and set sizes as ../asr1/local/data.sh draw the same sentences,
# spoken here by one voice at a fixed speed and pitch, 16 kHz, so the TTS test sentences
# are unseen by the TTS and by the ASR model that judges it (../asr1's test sentences).
#   data/train  the first --num_tts_train (4000) of ../asr1's training sentences
#   data/dev    the first --num_tts_dev (100) of its dev sentences
#   data/test   the first --num_tts_test (200) of its test sentences (its test_seen's)
#
#   local/data.sh [--voice en-us+m1] [--num_tts_train 4000] [--num_tts_dev 100]
#                 [--num_tts_test 200] [--wordnet_dir DIR]
#                 [--seed 0 --num_train 10000 --num_dev 300 --num_test 400]  # keep ../asr1's
# --voice: an espeak-ng voice, or festival:<voice> (Debian packages: ../asr1/local/data.sh).
set -euo pipefail

voice=en-us+m1
num_tts_train=4000
num_tts_dev=100
num_tts_test=200
seed=0
num_train=10000
num_dev=300
num_test=400
wordnet_dir=/usr/share/wordnet
while [ $# -gt 0 ]; do
    case "$1" in
        --voice|--num_tts_train|--num_tts_dev|--num_tts_test|--seed|--num_train|--num_dev|--num_test|--wordnet_dir)
            [ $# -ge 2 ] || { echo "local/data.sh: $1 needs a value" >&2; exit 1; }
            declare "${1#--}=$2"; shift 2 ;;
        *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
    esac
done

done_marker="data/all/.done_${voice//[^A-Za-z0-9]/-}_seed${seed}_${num_train}_${num_dev}_${num_test}"
if [ -e "${done_marker}" ]; then
    echo "local/data.sh: ${done_marker} exists, corpus already generated"
else
    rm -rf data/all
    python3 -m espnet_mamba.bin.make_espeak_corpus --text wordnet \
        --wordnet_dir "${wordnet_dir}" --out data/all --wavdir downloads/wav \
        --seed "${seed}" --num_train "${num_train}" --num_dev "${num_dev}" \
        --num_test "${num_test}" --voices "${voice}" --held_out_voices \
        --speed_range 160 160 --pitch_range 50 50
    touch "${done_marker}"
fi

subset="$(dirname "$0")/../../../TEMPLATE/lib/subset_data_dir.sh"
"${subset}" --first "${num_tts_train}" data/all/train data/train "_tr[0-9]+$"
"${subset}" --first "${num_tts_dev}" data/all/dev data/dev "_dv[0-9]+$"
"${subset}" --first "${num_tts_test}" data/all/test data/test "_ts[0-9]+$"
