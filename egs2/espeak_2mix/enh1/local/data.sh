#!/usr/bin/env bash
# Generate the espeak-ng 2-speaker mixture corpus (8 kHz, min mode) as data/{train,dev,test}:
#   local/data.sh [--seed 0] [--num_train 1000] [--num_dev 30] [--num_test 100]
#   local/data.sh --test_seed 1      # only data/test_seed1: a separately generated test set
# Speech: libespeak-ng from PyPI (espeakng-loader, installed with espnet-mamba).  Audio goes to downloads/wav.
set -euo pipefail

seed=0
num_train=1000
num_dev=30
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

args=(--out data --wavdir downloads/wav --fs 8000 --mode min --seed "${seed}"
      --num_train "${num_train}" --num_dev "${num_dev}" --num_test "${num_test}")
if [ -n "${test_seed}" ]; then
    args+=(--test_seed "${test_seed}" --test_name "test_seed${test_seed}")
    done_marker="data/test_seed${test_seed}/.done"
else
    done_marker="data/.done_seed${seed}"
fi
if [ -e "${done_marker}" ]; then
    echo "local/data.sh: ${done_marker} exists, corpus already generated"
    exit 0
fi
python3 -m espnet_mamba.bin.make_espeak_mixtures "${args[@]}"
touch "${done_marker}"
