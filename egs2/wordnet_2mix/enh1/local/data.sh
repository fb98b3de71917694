#!/usr/bin/env bash
# 2-speaker mixtures (8 kHz, min mode, 0-5 dB apart) of the open-vocabulary corpus of
# ../../wordnet_en/asr1 (WordNet sentences; espeak-ng and Festival voices), without
# speaking it again (python -m espnet_mamba.bin.mix_data_dir): every utterance of a set
# in one mixture with an utterance of another voice.
#   data/train         5000 mixtures of its 10000 training utterances (10 voices)
#   data/dev           40 mixtures of its dev utterances (training voices)
#   data/test_seen     100 mixtures of test_seen (training voices, unseen sentences)
#   data/test_heldout  100 mixtures of test_heldout (3 held-out voices, unseen sentences)
#
#   local/data.sh [--source DIR] [--seed 0]   # DIR: the ASR recipe whose data/ to mix
set -euo pipefail

source_recipe="$(dirname "$0")/../../../wordnet_en/asr1"
seed=0
while [ $# -gt 0 ]; do
    case "$1" in
        --source|--seed)
            [ $# -ge 2 ] || { echo "local/data.sh: $1 needs a value" >&2; exit 1; }
            if [ "$1" = --source ]; then source_recipe=$2; else seed=$2; fi
            shift 2 ;;
        *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
    esac
done

for dset in train dev test_seen test_heldout; do
    [ -f "${source_recipe}/data/${dset}/wav.scp" ] || {
        echo "local/data.sh: no ${source_recipe}/data/${dset}: generate the corpus first" \
            "(cd ${source_recipe} && local/data.sh)" >&2
        exit 1
    }
done
mix() {  # mix SET OUT [--num N]
    python3 -m espnet_mamba.bin.mix_data_dir "${source_recipe}/data/$1" "data/$2" \
        --wavdir downloads/wav --fs 8000 --mode min --max_snr 5 --seed "${seed}" "${@:3}"
}
mix train train
mix dev dev --num 40
mix test_seen test_seen
mix test_heldout test_heldout
