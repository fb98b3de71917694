#!/usr/bin/env bash
# The quick corpus: ../../espeak_en/asr1/local/data.sh with fewer sentences, then its test
# set split by voice: data/test_seen (training voices) and data/test_heldout (2 voices
# never heard in training), both with sentences never heard in training.
#
#   local/data.sh [--seed N] [--num_train N] [--num_dev N] [--num_test N]
set -euo pipefail

opts=(--num_train 1500 --num_dev 100 --num_test 200)
"$(dirname "$0")/../../../espeak_en/asr1/local/data.sh" "${opts[@]}" "$@"

split() {  # split NAME PATTERN: data/NAME = the utterances of data/test whose id matches
    mkdir -p "data/$1"
    for f in wav.scp text utt2spk; do
        awk -v p="$2" '$1 ~ p' "data/test/${f}" >"data/$1/${f}"
    done
    awk '{ u[$2] = u[$2] " " $1 } END { for (s in u) print s u[s] }' "data/$1/utt2spk" |
        LC_ALL=C sort >"data/$1/spk2utt"
    cp data/test/synthesis "data/$1/"
    echo "data/$1: $(wc -l <"data/$1/wav.scp") utterances"
}
split test_seen "_ts[0-9]+$"
split test_heldout "_th[0-9]+$"
