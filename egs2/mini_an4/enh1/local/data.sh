#!/usr/bin/env bash
# Data preparation for mini AN4 speech enhancement (denoising + dereverberation).
#
#   local/data.sh [TARBALL]        (or: MINI_AN4=TARBALL local/data.sh)
#
# The utterances come from ../asr1/local/data.sh (same archive, same sets).  From the
# archive's 2 RIRs and 2 noises it writes data/rirs.scp and data/noises.scp, then:
#   train_nodev  wav.scp = spk1.scp = the clean speech; the training config's `enh`
#                preprocessor reverberates it and adds noise on the fly (new every epoch)
#   train_dev    a noisy, reverberant copy made once (seed 0), for validation
#   test         a noisy, reverberant copy made once (seed 1)
# The noisy copies have wav.scp (noisy), spk1.scp (target: speech with early
# reflections) and noise1.scp; see espnet_mamba/bin/simulate_noisy.py.
set -euo pipefail

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (local/data.sh) $*"; }
die() { log "ERROR: $*" >&2; exit 1; }

recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -le 1 ] || die "usage: local/data.sh [TARBALL] (got $# arguments)"
tarball=${1:-${MINI_AN4:-${recipe_dir}/../../../../shared/data/mini_an4_downloads.tar.gz}}

# The speech: the ASR recipe's data dirs, written here.
bash "${recipe_dir}/../asr1/local/data.sh" "${tarball}"

# RIRs and noises, unpacked once through a temporary dir.
if [ ! -d downloads/rirs ] || [ ! -d downloads/noise ]; then
    rm -rf downloads.tmp
    mkdir -p downloads.tmp
    tar -xzf "${tarball}" -C downloads.tmp downloads/rirs downloads/noise ||
        die "cannot unpack downloads/rirs and downloads/noise from ${tarball}"
    rm -rf downloads/rirs downloads/noise
    mv downloads.tmp/downloads/rirs downloads.tmp/downloads/noise downloads/
    rm -rf downloads.tmp
fi
for kind in rirs noise; do
    find "$(cd downloads/${kind} && pwd)" -name '*.wav' | LC_ALL=C sort |
        awk '{ id = $0; sub(/.*\//, "", id); sub(/\.wav$/, "", id); print id, $0 }'
done >data/all_corruptions.scp
grep ' .*/rirs/' data/all_corruptions.scp >data/rirs.scp || die "no RIR in downloads/rirs"
grep ' .*/noise/' data/all_corruptions.scp >data/noises.scp || die "no noise in downloads/noise"
rm data/all_corruptions.scp

# Training: clean in, clean target (corrupted on the fly).
cp data/train_nodev/wav.scp data/train_nodev/spk1.scp
# Validation and test: corrupted once, with fixed seeds.
seed=0
for dset in train_dev test; do
    python3 -m espnet_mamba.bin.simulate_noisy "data/${dset}" "data/${dset}.noisy" \
        --rir_scp data/rirs.scp --noise_scp data/noises.scp --snr_range 5 15 \
        --wavdir "downloads/noisy/${dset}" --seed "${seed}"
    rm -rf "data/${dset}"
    mv "data/${dset}.noisy" "data/${dset}"
    log "data/${dset}: $(wc -l <"data/${dset}/wav.scp") noisy, reverberant utterances"
    seed=$((seed + 1))
done
rm -rf data/train
log "done"
