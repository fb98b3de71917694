#!/usr/bin/env bash
# Data preparation for LibriSpeech 100h: Kaldi-style data dirs from an unpacked LibriSpeech.
#
#   local/data.sh [LIBRISPEECH]        (or: LIBRISPEECH=DIR local/data.sh)
#
# LIBRISPEECH (default: downloads) is the dir that holds LibriSpeech/, as ESPnet's db.sh
# has it, with the subsets train-clean-100, dev-clean, dev-other, test-clean and
# test-other unpacked from https://www.openslr.org/12 (this script downloads nothing).
# Their layout: LibriSpeech/<subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac and one
# <spk>-<chapter>.trans.txt per chapter ("<spk>-<chapter>-<utt> TRANSCRIPT" lines).
#
# Writes data/<set>/{wav.scp,text,utt2spk,spk2utt} for train_clean_100, dev_clean,
# dev_other, test_clean, test_other, and dev = dev_clean + dev_other (the validation
# set).  The speaker of an utterance is <spk>-<chapter>, as in Kaldi's recipe.  Each dir
# is built as data/<set>.tmp and moved into place when complete.
set -euo pipefail

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (local/data.sh) $*"; }
die() { log "ERROR: $*" >&2; exit 1; }

[ $# -le 1 ] || die "usage: local/data.sh [LIBRISPEECH] (got $# arguments)"
root=${1:-${LIBRISPEECH:-downloads}}
subsets="train-clean-100 dev-clean dev-other test-clean test-other"
for subset in ${subsets}; do
    [ -d "${root}/LibriSpeech/${subset}" ] || die "missing ${root}/LibriSpeech/${subset}:" \
        "download ${subset}.tar.gz from https://www.openslr.org/12 and unpack it in ${root}" \
        "(or pass the dir that holds LibriSpeech/ as the argument or in LIBRISPEECH)"
done
root=$(cd "${root}" && pwd)

write_spk2utt() {  # write_spk2utt DIR: DIR/spk2utt from DIR/utt2spk
    awk '{ utts[$2] = utts[$2] " " $1 } END { for (spk in utts) print spk utts[spk] }' \
        "$1/utt2spk" | LC_ALL=C sort >"$1/spk2utt"
}

install_dir() {  # install_dir NAME: sort data/NAME.tmp's tables and move it to data/NAME
    local f
    for f in wav.scp text utt2spk; do LC_ALL=C sort -o "data/$1.tmp/${f}" "data/$1.tmp/${f}"; done
    write_spk2utt "data/$1.tmp"
    rm -rf "data/$1"
    mv "data/$1.tmp" "data/$1"
    log "data/$1: $(wc -l <"data/$1/wav.scp") utterances"
}

prepare_subset() {  # prepare_subset SUBSET: data/<subset with _> from LibriSpeech/SUBSET
    local src=${root}/LibriSpeech/$1 name=${1//-/_}
    local tmp=data/${name}.tmp
    rm -rf "${tmp}"
    mkdir -p "${tmp}"
    find "${src}" -name '*.trans.txt' | LC_ALL=C sort >"${tmp}/trans.list"
    [ -s "${tmp}/trans.list" ] || die "no *.trans.txt file under ${src}"
    # Each transcript file lists the utterances of its chapter; the audio lies beside it.
    awk -v out="${tmp}" '{
        trans = $0
        dir = trans
        sub(/\/[^\/]*$/, "", dir)
        while ((getline line < trans) > 0) {
            n = split(line, words, " ")
            if (n == 0) continue
            utt = words[1]
            split(utt, id, "-")
            print utt, dir "/" utt ".flac" > (out "/wav.scp")
            print line > (out "/text")
            print utt, id[1] "-" id[2] > (out "/utt2spk")
        }
        close(trans)
    }' "${tmp}/trans.list"
    # Every transcribed utterance needs its audio file.
    find "${src}" -name '*.flac' | LC_ALL=C sort >"${tmp}/flac.list"
    cut -d' ' -f2 "${tmp}/wav.scp" | LC_ALL=C sort | LC_ALL=C comm -13 "${tmp}/flac.list" - \
        >"${tmp}/missing.list"
    if [ -s "${tmp}/missing.list" ]; then
        die "$(wc -l <"${tmp}/missing.list") transcribed utterance(s) of ${src} have no" \
            "audio file, e.g. $(head -n 1 "${tmp}/missing.list")"
    fi
    rm "${tmp}/trans.list" "${tmp}/flac.list" "${tmp}/missing.list"
    install_dir "${name}"
}

combine() {  # combine NAME SET...: data/NAME holds the utterances of all data/SET
    local name=$1 f set dup
    shift
    rm -rf "data/${name}.tmp"
    mkdir -p "data/${name}.tmp"
    for f in wav.scp text utt2spk; do
        for set in "$@"; do cat "data/${set}/${f}"; done >"data/${name}.tmp/${f}"
    done
    dup=$(cut -d' ' -f1 "data/${name}.tmp/wav.scp" | LC_ALL=C sort | uniq -d | head -n 1)
    [ -z "${dup}" ] || die "utterance ${dup} is in more than one of: $*"
    install_dir "${name}"
}

mkdir -p data
for subset in ${subsets}; do
    prepare_subset "${subset}"
done
combine dev dev_clean dev_other
log "done"
