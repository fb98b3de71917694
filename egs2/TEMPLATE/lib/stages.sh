# Helpers shared by the template stage scripts (asr1/asr.sh, enh1/enh.sh, tts1/tts.sh),
# which source this file: logging, stage banners, .done markers and *.tmp dirs, logged and
# parallel commands, and the interrupt handler.

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') $*"; }
die() { log "ERROR: $*" >&2; exit 1; }

current_stage=0
stage_start_time=0

stage_banner() {  # stage_banner N TITLE
    current_stage=$1
    stage_start_time=${SECONDS}
    log "==== Stage $1: $2"
}

stage_done() {
    log "==== Stage ${current_stage} finished [$((SECONDS - stage_start_time))s; ${SECONDS}s since start]"
}

is_done() {  # is_done DIR WHAT: true (with a message) if DIR holds a .done marker
    if [ -f "$1/.done" ]; then
        log "  $2 is already done: skipping (remove $1/.done to redo it)"
        return 0
    fi
    return 1
}

fresh_tmp() {  # fresh_tmp DIR: print DIR.tmp, emptied, with a logs/ subdir
    rm -rf "$1.tmp"
    mkdir -p "$1.tmp/logs"
    echo "$1.tmp"
}

finish_dir() {  # finish_dir DIR: move DIR.tmp to DIR and mark it done
    rm -rf "$1"
    mv "$1.tmp" "$1"
    touch "$1/.done"
}

run_logged() {  # run_logged LOG CMD...: run CMD, its output to LOG; stop the run if it fails
    local logfile=$1
    shift
    mkdir -p "$(dirname "${logfile}")"
    log "  log: ${logfile}"
    if ! "$@" >"${logfile}" 2>&1; then
        tail -n 15 "${logfile}" | sed 's/^/    | /' >&2
        die "stage ${current_stage} failed; see the log: ${logfile}"
    fi
}

run_jobs() {  # run_jobs N LOG CMD...: N parallel jobs; "JOB" in LOG and CMD becomes 1..N
    local n=$1 logfile=$2 job failed=0
    shift 2
    local pids=()
    log "  ${n} job(s), logs: ${logfile//JOB/*}"
    for job in $(seq 1 "${n}"); do
        "${@//JOB/${job}}" >"${logfile//JOB/${job}}" 2>&1 &
        pids+=($!)
    done
    for job in $(seq 1 "${n}"); do
        if ! wait "${pids[job - 1]}"; then
            tail -n 15 "${logfile//JOB/${job}}" | sed 's/^/    | /' >&2
            log "  job ${job} failed; see the log: ${logfile//JOB/${job}}" >&2
            failed=1
        fi
    done
    [ "${failed}" = 0 ] || die "stage ${current_stage} failed (logs above)"
}

split_keys() {  # split_keys SCP N PREFIX: deal the lines of SCP into PREFIX.1.scp..PREFIX.N.scp
    awk -v n="$2" -v prefix="$3" '{ print > (prefix "." ((NR - 1) % n + 1) ".scp") }' "$1"
}

num_lines() { wc -l <"$1" | tr -d ' '; }

min() {  # min N...: the smallest argument
    local m=$1 x
    for x in "$@"; do
        if [ "${x}" -lt "${m}" ]; then m=${x}; fi
    done
    echo "${m}"
}

require_file() {  # require_file PATH HINT
    [ -e "$1" ] || die "missing $1 ($2)"
}

on_interrupt() {
    local pids
    pids=$(jobs -p)
    if [ -n "${pids}" ]; then kill ${pids} 2>/dev/null || true; fi
    log "Interrupted in stage ${current_stage}: its unfinished output (*.tmp, or a dir" \
        "without .done) is not trusted and will be redone by the next run." >&2
    exit 130
}
