#!/usr/bin/env bash
# Data preparation for LJSpeech-1.1: Kaldi-style data dirs from the unpacked corpus.
#
#   local/data.sh [--num_dev 250] [--num_eval 250] [LJSPEECH_DIR]   (or: LJSPEECH=DIR local/data.sh)
#
# LJSPEECH_DIR is the unpacked LJSpeech-1.1/ (https://keithito.com/LJ-Speech-Dataset/),
# default downloads/LJSpeech-1.1.  It holds metadata.csv ("id|text|normalized text" per
# line) and wavs/<id>.wav (22.05 kHz mono).  The normalized text is the transcript; the
# speaker is "LJ".  Split as in ESPnet's recipe, by utterance id:
#   tr_no_dev   all but the last num_dev + num_eval utterances (12600 of 13100)
#   dev         the num_dev utterances before the last num_eval
#   eval1       the last num_eval
# Each dir is built as data/<set>.tmp and moved into place when complete.
set -euo pipefail

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (local/data.sh) $*"; }
die() { log "ERROR: $*" >&2; exit 1; }

num_dev=250
num_eval=250
corpus=""
while [ $# -gt 0 ]; do
    case "$1" in
        --num_dev | --num_eval)
            [ $# -ge 2 ] || die "$1 needs a value"
            [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be a non-negative integer, got '$2'"
            declare "${1#--}=$2"; shift 2 ;;
        --*) die "unknown option $1" ;;
        *) [ -z "${corpus}" ] || die "usage: local/data.sh [options] [LJSPEECH_DIR]"; corpus=$1; shift ;;
    esac
done
corpus=${corpus:-${LJSPEECH:-downloads/LJSpeech-1.1}}
metadata=${corpus}/metadata.csv
[ -f "${metadata}" ] || die "LJSpeech metadata not found: ${metadata} (pass the unpacked" \
    "LJSpeech-1.1 dir as the argument or set LJSPEECH)"
corpus=$(cd "${corpus}" && pwd)

mkdir -p data
rm -rf data/all.tmp
mkdir -p data/all.tmp
# id|text|normalized text -> wav.scp, text (normalized), utt2spk; a bad line stops here
awk -F'|' -v dir=data/all.tmp -v wavs="${corpus}/wavs" -v metadata="${metadata}" '
    NF < 3 || $1 == "" {
        printf "ERROR: %s:%d: expected id|text|normalized text\n", metadata, NR > "/dev/stderr"
        exit 1
    }
    {
        sub(/\r$/, "", $3)
        print $1, wavs "/" $1 ".wav" > (dir "/wav.scp")
        print $1, $3 > (dir "/text")
        print $1, "LJ" > (dir "/utt2spk")
    }' "${metadata}"
for f in wav.scp text utt2spk; do LC_ALL=C sort -o "data/all.tmp/${f}" "data/all.tmp/${f}"; done
missing=$(awk '{ print $2 }' data/all.tmp/wav.scp | while read -r wav; do
    [ -f "${wav}" ] || echo "${wav}"; done)
if [ -n "${missing}" ]; then
    die "$(echo "${missing}" | wc -l) utterance(s) of ${metadata} have no audio, e.g. $(echo "${missing}" | head -n 1)"
fi
total=$(wc -l <data/all.tmp/wav.scp)
num_train=$((total - num_dev - num_eval))
[ "${num_train}" -ge 1 ] || die "${total} utterances leave none for training after" \
    "--num_dev ${num_dev} --num_eval ${num_eval}"

subset() {  # subset NAME FIRST COUNT: data/NAME holds lines FIRST..FIRST+COUNT-1 of data/all.tmp
    local tmp=data/$1.tmp f
    rm -rf "${tmp}"
    mkdir -p "${tmp}"
    for f in wav.scp text utt2spk; do
        tail -n +"$2" "data/all.tmp/${f}" | head -n "$3" >"${tmp}/${f}"
    done
    awk '{ utts = utts " " $1 } END { print "LJ" utts }' "${tmp}/utt2spk" >"${tmp}/spk2utt"
    rm -rf "data/$1"
    mv "${tmp}" "data/$1"
    log "data/$1: $(wc -l <"data/$1/wav.scp") utterances"
}

subset tr_no_dev 1 "${num_train}"
if [ "${num_dev}" -gt 0 ]; then subset dev $((num_train + 1)) "${num_dev}"; fi
if [ "${num_eval}" -gt 0 ]; then subset eval1 $((num_train + num_dev + 1)) "${num_eval}"; fi
rm -rf data/all.tmp
log "done"
