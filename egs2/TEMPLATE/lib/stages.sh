# Helpers shared by the template stage scripts (asr1/asr.sh, enh1/enh.sh, tts1/tts.sh),
# which source this file: logging, stage banners, .done markers and *.tmp dirs, logged and
# parallel commands, the experiment lock, checkpoint checks and the signal handler.
#
# Signals: every step runs in the background in a process group of its own (setsid) and
# the script waits for it, so INT/TERM/HUP reach the script's trap at once (bash defers
# traps while a foreground command runs); the trap stops every running step's whole
# process group (trainer, DataLoader workers), waits up to 10 s, then kills what is left.

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

step_pids=()  # process groups of the steps running now

start_step() {  # start_step LOG CMD...: start CMD in the background, its output to LOG
    local logfile=$1
    shift
    if command -v setsid >/dev/null 2>&1; then
        setsid "$@" >"${logfile}" 2>&1 </dev/null &
    else
        "$@" >"${logfile}" 2>&1 </dev/null &
    fi
    step_pids+=($!)
}

keep_old_log() {  # keep_old_log LOG: move a previous LOG aside as LOG's stem.<its time>.log
    if [ -s "$1" ]; then
        local kept
        kept="${1%.log}.$(date -r "$1" '+%Y%m%dT%H%M%S').log"
        mv "$1" "${kept}"
        log "  the previous log is kept: ${kept}"
    fi
}

start_logged() {  # start_logged LOG CMD...: start CMD with its output to LOG (kept: see keep_old_log)
    local logfile=$1
    shift
    mkdir -p "$(dirname "${logfile}")"
    keep_old_log "${logfile}"
    log "  log: ${logfile}"
    start_step "${logfile}" "$@"
}

finish_logged() {  # finish_logged LOG: wait for the step; stop the run if it failed
    if ! wait "${step_pids[-1]}"; then
        step_pids=()
        tail -n 15 "$1" | sed 's/^/    | /' >&2
        die "stage ${current_stage} failed; see the log: $1"
    fi
    step_pids=()
}

run_logged() {  # run_logged LOG CMD...: run CMD, its output to LOG; stop the run if it fails
    start_logged "$@"
    finish_logged "$1"
}

run_training() {  # run_training LOG CMD...: run_logged, with a progress line every 30 s
    local start=${SECONDS} next=$((SECONDS + 30)) line
    start_logged "$@"
    while kill -0 "${step_pids[-1]}" 2>/dev/null; do
        if [ "${SECONDS}" -ge "${next}" ]; then
            next=$((SECONDS + 30))
            line=$(${python} -m espnet_mamba.bin.train_progress "$1" \
                --elapsed "$((SECONDS - start))" 2>/dev/null || true)
            [ -z "${line}" ] || log "  ${line}"
        fi
        sleep 1
    done
    finish_logged "$1"
}

run_jobs() {  # run_jobs N LOG CMD...: N parallel jobs; "JOB" in LOG and CMD becomes 1..N
    local n=$1 logfile=$2 job failed=0
    shift 2
    log "  ${n} job(s), logs: ${logfile//JOB/*}"
    for job in $(seq 1 "${n}"); do
        start_step "${logfile//JOB/${job}}" "${@//JOB/${job}}"
    done
    for job in $(seq 1 "${n}"); do
        if ! wait "${step_pids[job - 1]}"; then
            tail -n 15 "${logfile//JOB/${job}}" | sed 's/^/    | /' >&2
            log "  job ${job} failed; see the log: ${logfile//JOB/${job}}" >&2
            failed=1
        fi
    done
    step_pids=()
    [ "${failed}" = 0 ] || die "stage ${current_stage} failed (logs above)"
}

run_visible() {  # run_visible CMD...: run CMD, its output on the terminal; its exit status
    if command -v setsid >/dev/null 2>&1; then setsid "$@" & else "$@" & fi
    step_pids+=($!)
    local status=0
    wait "${step_pids[-1]}" || status=$?
    step_pids=()
    return "${status}"
}

stage_data_prep() {  # stage_data_prep TEMPLATE: stage 1, local/data.sh ${local_data_opts}
    stage_banner 1 "Data preparation: local/data.sh ${local_data_opts}"
    [ -x local/data.sh ] || die "local/data.sh not found (or not executable) in $(pwd): run $1 from a recipe dir"
    # shellcheck disable=SC2086  # local_data_opts holds several words
    run_visible local/data.sh ${local_data_opts} ||
        die "stage 1 failed: local/data.sh exited with an error (messages above)"
    stage_done
}

report_formatted() {  # report_formatted DIR: a formatted set's size, and what was dropped
    log "  $1: $(num_lines "$1/wav.scp") utterances"
    if [ -f "$1/dropped_utts.tsv" ]; then
        log "  $(($(num_lines "$1/dropped_utts.tsv") - 1)) utterance(s) dropped (unreadable," \
            "truncated or outside the duration range), listed in $1/dropped_utts.tsv"
    fi
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

distributed_training() {  # distributed_training EXP_DIR: dist_args (trainer options) and
    # dist_prefix (srun/mpirun) for --ngpu, --num_nodes and --dist_launcher, as ESPnet's
    # templates: one process per GPU on each node (--multiprocessing_distributed true)
    dist_args=()
    dist_prefix=()
    if [ "${ngpu}" -gt 1 ] || [ "${num_nodes}" -gt 1 ]; then
        dist_args+=(--multiprocessing_distributed true)
    fi
    case "${dist_launcher}" in
        "") [ "${num_nodes}" -le 1 ] || die "--num_nodes ${num_nodes} needs --dist_launcher slurm or mpi" ;;
        slurm) dist_prefix=(srun --nodes "${num_nodes}" --ntasks "${num_nodes}" --ntasks-per-node 1) ;;
        mpi) dist_prefix=(mpirun -np "${num_nodes}" --map-by ppr:1:node) ;;
        *) die "--dist_launcher must be slurm or mpi, got '${dist_launcher}'" ;;
    esac
    if [ -n "${dist_launcher}" ]; then
        # the nodes rendezvous through a file in the (shared) experiment dir
        rm -f "$1/.dist_init"
        dist_args+=(--dist_launcher "${dist_launcher}"
            --dist_init_method "file://$(cd "$1" && pwd)/.dist_init")
    fi
}

held_locks=()

lock_experiment() {  # lock_experiment DIR: this run holds DIR/.lock until it exits
    local dir=$1 lock=$1/.lock pid
    mkdir -p "${dir}"
    if ! mkdir "${lock}" 2>/dev/null; then
        pid=$(cat "${lock}/pid" 2>/dev/null || true)
        [ -n "${pid}" ] || { sleep 1; pid=$(cat "${lock}/pid" 2>/dev/null || true); }
        if [ -n "${pid}" ] && kill -0 "${pid}" 2>/dev/null; then
            die "${dir} is in use by another run: PID ${pid} holds the lock ${lock}" \
                "(wait for it, or stop it with: kill ${pid})"
        fi
        log "  taking over the stale lock ${lock} (PID ${pid:-unknown} is not running)"
        rm -rf "${lock}"
        mkdir "${lock}" || die "cannot take the lock ${lock}"
    fi
    echo $$ >"${lock}/pid"
    held_locks+=("${lock}")
}

release_locks() {
    local lock
    for lock in "${held_locks[@]}"; do
        if [ "$(cat "${lock}/pid" 2>/dev/null)" = "$$" ]; then rm -rf "${lock}"; fi
    done
}

check_checkpoint() {  # check_checkpoint EXP_DIR RERUN: stop if EXP_DIR/checkpoint.pth does not load
    [ -e "$1/checkpoint.pth" ] || return 0
    log "  resuming: checking $1/checkpoint.pth"
    ${python} -m espnet_mamba.bin.check_checkpoint "$1" --rerun "$2" ||
        die "stage ${current_stage}: $1/checkpoint.pth does not load (see above)"
}

stop_steps() {  # TERM every running step's process group, KILL what is left after 10 s
    local pid waited=0
    [ "${#step_pids[@]}" -gt 0 ] || return 0
    for pid in "${step_pids[@]}"; do kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null || true; done
    while [ "${waited}" -lt 20 ]; do
        local alive=0
        for pid in "${step_pids[@]}"; do kill -0 -- "-${pid}" 2>/dev/null && alive=1; done
        [ "${alive}" = 1 ] || break
        sleep 0.5
        waited=$((waited + 1))
    done
    for pid in "${step_pids[@]}"; do kill -KILL -- "-${pid}" 2>/dev/null || true; done
}

on_interrupt() {
    trap '' INT TERM HUP
    stop_steps
    log "Interrupted in stage ${current_stage}: its unfinished output (*.tmp, or a dir" \
        "without .done) is not trusted and will be redone by the next run." >&2
    exit 130
}

# Scripts that source this file get the handlers; the lock goes when the script exits.
trap on_interrupt INT TERM HUP
trap release_locks EXIT
