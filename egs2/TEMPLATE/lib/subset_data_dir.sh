#!/usr/bin/env bash
# subset_data_dir.sh [--first N] SRC DST PATTERN: the data dir DST holds the utterances of
# the data dir SRC whose id matches the awk regular expression PATTERN (with --first, only
# the first N of them in SRC's wav.scp order): wav.scp, text, utt2spk and a spk2utt made
# from it; SRC's synthesis file is copied.  Recipes split test sets with it:
#   ../../TEMPLATE/lib/subset_data_dir.sh data/test data/test_seen '_ts[0-9]+$'
set -euo pipefail
first=""
if [ "${1:-}" = --first ]; then
    [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "$0: --first needs a positive count" >&2; exit 1; }
    first=$2
    shift 2
fi
[ $# -eq 3 ] || { echo "usage: $0 [--first N] SRC DST PATTERN" >&2; exit 1; }
src=$1 dst=$2 pattern=$3
for f in wav.scp text utt2spk; do
    [ -f "${src}/${f}" ] || { echo "$0: no ${src}/${f}" >&2; exit 1; }
done
mkdir -p "${dst}"
awk -v p="${pattern}" -v n="${first:-0}" '$1 ~ p && (n == 0 || ++k <= n) { print $1 }' \
    "${src}/wav.scp" >"${dst}/.ids"
for f in wav.scp text utt2spk; do
    awk 'NR == FNR { keep[$1] = 1; next } $1 in keep' "${dst}/.ids" "${src}/${f}" >"${dst}/${f}"
done
rm "${dst}/.ids"
awk '{ u[$2] = u[$2] " " $1 } END { for (s in u) print s u[s] }' "${dst}/utt2spk" |
    LC_ALL=C sort >"${dst}/spk2utt"
[ ! -f "${src}/synthesis" ] || cp "${src}/synthesis" "${dst}/"
echo "${dst}: $(wc -l <"${dst}/wav.scp") utterances"
