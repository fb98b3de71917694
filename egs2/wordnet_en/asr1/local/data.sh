#!/usr/bin/env bash
# Generate the open-vocabulary corpus as data/{train,dev,test}, then split the test set
# by voice: data/test_seen (training voices) and data/test_heldout (3 voices never heard
# in training, one of them Festival's ked_diphone), all with sentences never heard in
# training; and data/lm_train/text, the LM's text (WordNet without the dev and test
# sentences).  Sentences: WordNet 3.0's usage examples (Debian wordnet-base); voices:
# espeak-ng (libespeak-ng of PyPI) and Festival (Debian festival + festvox voices):
#
#   apt-get install wordnet-base festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
#   local/data.sh [--seed 0] [--num_train 10000] [--num_dev 300] [--num_test 400]
#                 [--noisy TARBALL]   # also data/test_{seen,heldout}_noisy: the test sets
#                                     # reverberated and noisy (mini AN4's 2 RIRs and 2
#                                     # noises, SNR 5-15 dB, seed 1)
#                 [--wordnet_dir DIR]  # WordNet's data.* files elsewhere than /usr/share/wordnet
set -euo pipefail

seed=0
num_train=10000
num_dev=300
num_test=400
noisy=""
wordnet_dir=/usr/share/wordnet
while [ $# -gt 0 ]; do
    case "$1" in
        --seed|--num_train|--num_dev|--num_test|--noisy|--wordnet_dir)
            [ $# -ge 2 ] || { echo "local/data.sh: $1 needs a value" >&2; exit 1; }
            declare "${1#--}=$2"; shift 2 ;;
        *) echo "local/data.sh: unknown option $1" >&2; exit 1 ;;
    esac
done

train_voices=(en-us+m1 en-us+f2 en-gb+m3 en-gb-scotland+f1 en-029+m2 en-us-nyc+f4
              en-gb-x-rp+m4 en+f3 festival:kal_diphone festival:cmu_us_slt_arctic_hts)
held_out_voices=(en-gb-x-gbclan+f5 en-gb-x-gbcwmd+m6 festival:ked_diphone)

done_marker="data/.done_seed${seed}"
if [ -e "${done_marker}" ]; then
    echo "local/data.sh: ${done_marker} exists, corpus already generated"
else
    python3 -m espnet_mamba.bin.make_espeak_corpus --text wordnet \
        --wordnet_dir "${wordnet_dir}" --out data \
        --wavdir downloads/wav --seed "${seed}" --num_train "${num_train}" \
        --num_dev "${num_dev}" --num_test "${num_test}" --voices "${train_voices[@]}" \
        --held_out_voices "${held_out_voices[@]}"
    touch "${done_marker}"
fi

# The LM's text (./run.sh --use_lm true): every WordNet example but the dev and test sentences.
if [ ! -f data/lm_train/text ]; then
    python3 -m espnet_mamba.bin.write_lm_text --wordnet_dir "${wordnet_dir}" \
        --exclude data/dev/text data/test/text --out data/lm_train/text
fi

subset="$(dirname "$0")/../../../TEMPLATE/lib/subset_data_dir.sh"
"${subset}" data/test data/test_seen "_ts[0-9]+$"
"${subset}" data/test data/test_heldout "_th[0-9]+$"

if [ -n "${noisy}" ]; then
    [ -f "${noisy}" ] || { echo "local/data.sh: --noisy: no file ${noisy}" >&2; exit 1; }
    if [ ! -d downloads/rirs ] || [ ! -d downloads/noise ]; then
        rm -rf downloads.tmp && mkdir -p downloads.tmp
        tar -xzf "${noisy}" -C downloads.tmp downloads/rirs downloads/noise ||
            { echo "local/data.sh: no downloads/rirs, downloads/noise in ${noisy}" >&2; exit 1; }
        mv downloads.tmp/downloads/rirs downloads.tmp/downloads/noise downloads/
        rm -rf downloads.tmp
    fi
    for kind in rirs noise; do
        find "$(cd "downloads/${kind}" && pwd)" -name '*.wav' | LC_ALL=C sort |
            awk '{ id = $0; sub(/.*\//, "", id); sub(/\.wav$/, "", id); print id, $0 }' \
            >"data/${kind}.scp"
    done
    for dset in test_seen test_heldout; do
        python3 -m espnet_mamba.bin.simulate_noisy "data/${dset}" "data/${dset}_noisy" \
            --rir_scp data/rirs.scp --noise_scp data/noise.scp --snr_range 5 15 \
            --wavdir "downloads/noisy/${dset}" --seed 1
        echo "data/${dset}_noisy: $(wc -l <"data/${dset}_noisy/wav.scp") utterances"
    done
fi
