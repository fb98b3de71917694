#!/usr/bin/env bash
# Generate the single-voice espeak-ng corpus as data/{train,dev,test}:
#   local/data.sh [--seed 0] [--num_train 3000] [--num_dev 100] [--num_test 100]
#   local/data.sh --test_seed 1      # only data/test_seed1: a separately generated test set
# One voice (en-us+m1), fixed speed (160 words/min) and pitch (50), 16 kHz; dev and test
# sentences never occur in train.  Speech: libespeak-ng from PyPI (espeakng-loader, installed with espnet-mamba).  Audio
# goes to downloads/wav.
set -euo pipefail

seed=0
num_train=3000
num_dev=100
num_test=100
test_seed=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seed|--num_train|--num_dev|--num_test|--test_seed)
            [ $# -ge 2 ] || { echo "local/data.sh: $1 needs a value" >&2; exit 1; }
            declare "${1#--}=$2"; shift 2 ;;
        *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
    esac
done

args=(--out data --wavdir downloads/wav --seed "${seed}" --num_train "${num_train}"
      --num_dev "${num_dev}" --num_test "${num_test}" --voices en-us+m1 --held_out_voices
      --speed_range 160 160 --pitch_range 50 50)
if [ -n "${test_seed}" ]; then
    args+=(--test_seed "${test_seed}" --test_name "test_seed${test_seed}")
    done_marker="data/test_seed${test_seed}/.done"
else
    done_marker="data/.done_seed${seed}_${num_train}_${num_dev}_${num_test}"
fi
if [ -e "${done_marker}" ]; then
    echo "local/data.sh: ${done_marker} exists, corpus already generated"
    exit 0
fi
python3 -m espnet_mamba.bin.make_espeak_corpus "${args[@]}"
touch "${done_marker}"
