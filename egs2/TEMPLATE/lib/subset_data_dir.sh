#!/usr/bin/env bash
# subset_data_dir.sh SRC DST PATTERN: the data dir DST holds the utterances of the data
# dir SRC whose id matches the awk regular expression PATTERN (wav.scp, text, utt2spk and
# a spk2utt made from it; SRC's synthesis file is copied).  Recipes split test sets with it:
#   ../../TEMPLATE/lib/subset_data_dir.sh data/test data/test_seen '_ts[0-9]+$'
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 SRC DST PATTERN" >&2; exit 1; }
src=$1 dst=$2 pattern=$3
mkdir -p "${dst}"
for f in wav.scp text utt2spk; do
    [ -f "${src}/${f}" ] || { echo "$0: no ${src}/${f}" >&2; exit 1; }
    awk -v p="${pattern}" '$1 ~ p' "${src}/${f}" >"${dst}/${f}"
done
awk '{ u[$2] = u[$2] " " $1 } END { for (s in u) print s u[s] }' "${dst}/utt2spk" |
    LC_ALL=C sort >"${dst}/spk2utt"
[ ! -f "${src}/synthesis" ] || cp "${src}/synthesis" "${dst}/"
echo "${dst}: $(wc -l <"${dst}/wav.scp") utterances"
