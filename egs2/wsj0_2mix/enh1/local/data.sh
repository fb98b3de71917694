#!/usr/bin/env bash
# Data preparation for WSJ0-2mix: Kaldi-style data dirs from a generated wsj0-2mix tree.
#
#   local/data.sh [WSJ0_2MIX] [--min_or_max min|max] [--sample_rate 8k|16k]
#                                     (or: WSJ0_2MIX=DIR local/data.sh ...)
#
# WSJ0_2MIX (default: downloads/wsj0-mix) is the dir the official mixing scripts
# (create-speaker-mixtures.zip, from WSJ0, LDC93S6A, which is licensed and not
# downloaded here) wrote: 2speakers/wav<rate>/<min|max>/{tr,cv,tt}/{mix,s1,s2}/<id>.wav,
# the same file names in mix, s1 and s2, e.g. 011a010d_0.54422_20do010c_-0.54422.wav.
#
# Writes data/{tr,cv,tt}_<min|max>_<rate>/{wav.scp (mixture),spk1.scp,spk2.scp,utt2spk,
# spk2utt}.  The "speaker" of a mixture is the pair of WSJ0 speakers (the first three
# characters of each utterance id).  Each dir is built as data/<set>.tmp and moved into
# place when complete.
set -euo pipefail

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (local/data.sh) $*"; }
die() { log "ERROR: $*" >&2; exit 1; }

root=${WSJ0_2MIX:-downloads/wsj0-mix}
min_or_max=min
sample_rate=8k
while [ $# -gt 0 ]; do
    case "$1" in
        --min_or_max | --sample_rate)
            [ $# -ge 2 ] || die "$1 needs a value"
            declare "${1#--}=$2"; shift 2 ;;
        --*) die "unknown option $1 (options: --min_or_max, --sample_rate)" ;;
        *) root=$1; shift ;;
    esac
done
case "${min_or_max}" in min | max) ;; *) die "--min_or_max must be min or max, got '${min_or_max}'" ;; esac
case "${sample_rate}" in 8k | 16k) ;; *) die "--sample_rate must be 8k or 16k, got '${sample_rate}'" ;; esac

src_root=${root}/2speakers/wav${sample_rate}/${min_or_max}
for part in tr cv tt; do
    for sub in mix s1 s2; do
        [ -d "${src_root}/${part}/${sub}" ] || die "missing ${src_root}/${part}/${sub}: give the" \
            "dir the wsj0-2mix scripts wrote (it holds 2speakers/), as the argument or in WSJ0_2MIX"
    done
done
src_root=$(cd "${src_root}" && pwd)

prepare() {  # prepare PART: data/<PART>_<min|max>_<rate> from PART/{mix,s1,s2}
    local part=$1 name=$1_${min_or_max}_${sample_rate}
    local src=${src_root}/${part} tmp=data/${name}.tmp sub
    rm -rf "${tmp}"
    mkdir -p "${tmp}"
    find "${src}/mix" -name '*.wav' | LC_ALL=C sort >"${tmp}/mix.list"
    [ -s "${tmp}/mix.list" ] || die "no .wav file in ${src}/mix"
    for sub in s1 s2; do
        # Every mixture needs both sources, under the same file name.
        find "${src}/${sub}" -name '*.wav' -printf '%f\n' | LC_ALL=C sort >"${tmp}/${sub}.names"
        sed 's|.*/||' "${tmp}/mix.list" | LC_ALL=C comm -23 - "${tmp}/${sub}.names" >"${tmp}/missing"
        [ ! -s "${tmp}/missing" ] || die "$(wc -l <"${tmp}/missing") mixture(s) of ${src}/mix" \
            "have no source in ${src}/${sub}, e.g. $(head -n 1 "${tmp}/missing")"
    done
    awk -v out="${tmp}" -v src="${src}" '{
        file = $0
        sub(/.*\//, "", file)
        utt = file
        sub(/\.wav$/, "", utt)
        split(utt, ids, "_")
        print utt, src "/mix/" file > (out "/wav.scp")
        print utt, src "/s1/" file > (out "/spk1.scp")
        print utt, src "/s2/" file > (out "/spk2.scp")
        print utt, substr(ids[1], 1, 3) "_" substr(ids[3], 1, 3) > (out "/utt2spk")
    }' "${tmp}/mix.list"
    rm "${tmp}"/mix.list "${tmp}"/s1.names "${tmp}"/s2.names "${tmp}/missing"
    awk '{ utts[$2] = utts[$2] " " $1 } END { for (spk in utts) print spk utts[spk] }' \
        "${tmp}/utt2spk" | LC_ALL=C sort >"${tmp}/spk2utt"
    rm -rf "data/${name}"
    mv "${tmp}" "data/${name}"
    log "data/${name}: $(wc -l <"data/${name}/wav.scp") mixtures"
}

mkdir -p data
for part in tr cv tt; do
    prepare "${part}"
done
log "done"
