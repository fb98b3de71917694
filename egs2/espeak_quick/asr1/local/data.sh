#!/usr/bin/env bash
# The quick corpus: ../../espeak_en/asr1/local/data.sh with fewer sentences, then its test
# set split by voice: data/test_seen (training voices) and data/test_heldout (2 voices
# never heard in training), both with sentences never heard in training.
#
#   local/data.sh [--seed N] [--num_train N] [--num_dev N] [--num_test N]
set -euo pipefail

opts=(--num_train 1500 --num_dev 100 --num_test 200)
"$(dirname "$0")/../../../espeak_en/asr1/local/data.sh" "${opts[@]}" "$@"

subset="$(dirname "$0")/../../../TEMPLATE/lib/subset_data_dir.sh"
"${subset}" data/test data/test_seen "_ts[0-9]+$"
"${subset}" data/test data/test_heldout "_th[0-9]+$"
