#!/usr/bin/env bash
# Data preparation for mini AN4: Kaldi-style data dirs from the mini AN4 archive.
#
#   local/data.sh [TARBALL]        (or: MINI_AN4=TARBALL local/data.sh)
#
# TARBALL defaults to ../../../../shared/data/mini_an4_downloads.tar.gz relative to
# this recipe.  Its downloads/an4/ is unpacked into ./downloads/ (once); the audio stays
# there as NIST SPHERE files, which stage 2 of asr.sh reads with soundfile.
#
# The archive: wav/an4_clstk/<spk>/<utt>.sph (6 training utterances),
# wav/an4test_clstk/<spk>/<utt>.sph (2 test utterances) and the transcripts
# etc/an4_train.transcription ("<s> TEXT </s> (utt)") and etc/an4_test.transcription
# ("TEXT (utt)").  An utterance without a transcript is skipped with a message (in the
# mini archive: cen7-fash-b).
#
# Writes data/<set>/{wav.scp,text,utt2spk,spk2utt} for
#   train        the 5 transcribed training utterances
#   train_dev    the first of them by id (an152-mwhw-b), for validation
#   train_nodev  the other 4, for training
#   test         the 2 test utterances
# Each dir is built as data/<set>.tmp and moved into place when complete.
set -euo pipefail

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (local/data.sh) $*"; }
die() { log "ERROR: $*" >&2; exit 1; }

recipe_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -le 1 ] || die "usage: local/data.sh [TARBALL] (got $# arguments)"
tarball=${1:-${MINI_AN4:-${recipe_dir}/../../../../shared/data/mini_an4_downloads.tar.gz}}
[ -f "${tarball}" ] || die "mini AN4 archive not found: ${tarball} (pass its path as the" \
    "argument, set MINI_AN4, or use run.sh --an4 PATH)"

# Unpack downloads/an4 once (through a temporary dir, so a half-unpacked tree is never used).
if [ ! -d downloads/an4 ]; then
    log "unpacking ${tarball} into downloads/"
    rm -rf downloads.tmp
    mkdir -p downloads.tmp downloads
    tar -xzf "${tarball}" -C downloads.tmp downloads/an4 ||
        die "cannot unpack downloads/an4 from ${tarball}"
    mv downloads.tmp/downloads/an4 downloads/an4
    rm -rf downloads.tmp
fi
an4=$(cd downloads/an4 && pwd)

write_spk2utt() {  # write_spk2utt DIR: DIR/spk2utt from DIR/utt2spk
    awk '{ utts[$2] = utts[$2] " " $1 } END { for (spk in utts) print spk utts[spk] }' \
        "$1/utt2spk" | LC_ALL=C sort >"$1/spk2utt"
}

install_dir() {  # install_dir NAME: move data/NAME.tmp to data/NAME
    rm -rf "data/$1"
    mv "data/$1.tmp" "data/$1"
    log "data/$1: $(wc -l <"data/$1/wav.scp") utterances"
}

make_set() {  # make_set NAME WAV_SUBDIR TRANSCRIPTION: data/NAME from one part of the archive
    local tmp=data/$1.tmp transcription=${an4}/etc/$3 f
    [ -f "${transcription}" ] || die "missing transcript file ${transcription}"
    rm -rf "${tmp}"
    mkdir -p "${tmp}"
    find "${an4}/wav/$2" -name '*.sph' | LC_ALL=C sort >"${tmp}/sph.list"
    [ -s "${tmp}/sph.list" ] || die "no .sph file under ${an4}/wav/$2"
    awk -v dir="${tmp}" -v transcription="${transcription}" '
        FNR == NR {  # a transcript line: [<s>] WORDS [</s>] (utt)
            utt = $NF
            gsub(/[()]/, "", utt)
            text = ""
            for (i = 1; i < NF; i++) {
                if ($i != "<s>" && $i != "</s>") text = text (text == "" ? "" : " ") $i
            }
            texts[utt] = text
            next
        }
        {  # an audio path: .../<spk>/<utt>.sph
            n = split($0, parts, "/")
            utt = parts[n]
            sub(/\.sph$/, "", utt)
            if (!(utt in texts)) {
                print "skipping " utt ": no transcript in " transcription
                next
            }
            print utt, $0 > (dir "/wav.scp")
            print utt, texts[utt] > (dir "/text")
            print utt, parts[n - 1] > (dir "/utt2spk")
            has_audio[utt] = 1
        }
        END {
            for (utt in texts) {
                if (!(utt in has_audio)) {
                    print "ERROR: no audio for the transcript of " utt > "/dev/stderr"
                    exit 1
                }
            }
        }' "${transcription}" "${tmp}/sph.list"
    rm "${tmp}/sph.list"
    for f in wav.scp text utt2spk; do LC_ALL=C sort -o "${tmp}/${f}" "${tmp}/${f}"; done
    write_spk2utt "${tmp}"
    install_dir "$1"
}

subset() {  # subset SRC DST KEYS_FILE: data/DST holds the utterances of data/SRC in KEYS_FILE
    local tmp=data/$2.tmp f
    rm -rf "${tmp}"
    mkdir -p "${tmp}"
    for f in wav.scp text utt2spk; do
        awk 'FNR == NR { keep[$1] = 1; next } $1 in keep' "$3" "data/$1/${f}" >"${tmp}/${f}"
    done
    write_spk2utt "${tmp}"
    install_dir "$2"
}

mkdir -p data
make_set train an4_clstk an4_train.transcription
make_set test an4test_clstk an4_test.transcription

# Validation: the first training utterance; training: the others.
cut -d' ' -f1 data/train/wav.scp | head -n 1 >data/train_dev.keys
cut -d' ' -f1 data/train/wav.scp | tail -n +2 >data/train_nodev.keys
subset train train_dev data/train_dev.keys
subset train train_nodev data/train_nodev.keys
rm data/train_dev.keys data/train_nodev.keys
log "done"
