# What the template stage scripts (asr1/asr.sh, enh1/enh.sh, tts1/tts.sh) share; they
# source this file right after their "# Options" block: option parsing and --help from
# the template's own header, option checks, the python probe, logging, stage banners,
# .done markers and *.tmp dirs, logged and parallel commands, the shared stages (data
# preparation, audio formatting, stats collection, RESULTS.md), the experiment lock,
# checkpoint checks and the signal handler.
#
# Signals: every step runs in the background in a process group of its own (setsid) and
# the script waits for it, so INT/TERM/HUP reach the script's trap at once (bash defers
# traps while a foreground command runs); the trap stops every running step's whole
# process group (trainer, DataLoader workers), waits up to 10 s, then kills what is left.

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') $*"; }
die() { log "ERROR: $*" >&2; exit 1; }

template=$(readlink -f "${BASH_SOURCE[1]}")  # the script that sourced this file

# ---------------------------------------------------------------- options and checks

show_help() {  # the template's header comment, then its options with their defaults
    sed -n '2,/^set -euo/p' "${template}" | sed -e '$d' -e 's/^# \{0,1\}//'
    echo
    sed -n '/^# Options/,/^# End of options/p' "${template}"
}

parse_options() {  # parse_options "$@": --name value or --name=value for each option of
    # the template's "# Options" block (dashes in names read as underscores)
    command_line="$0 $*"
    local known opt val
    known=" $(sed -n '/^# Options/,/^# End of options/p' "${template}" \
        | grep -oE '^[a-z_0-9]+=' | tr -d '=' | tr '\n' ' ')"
    while [ $# -gt 0 ]; do
        case "$1" in
            -h | --help) show_help; exit 0 ;;
            --*=*) opt=${1%%=*}; val=${1#*=}; shift ;;
            --*) [ $# -ge 2 ] || die "option $1 needs a value"; opt=$1; val=$2; shift 2 ;;
            *) die "unexpected argument '$1': options are --name value (see --help)" ;;
        esac
        opt=${opt#--}
        opt=${opt//-/_}
        [[ "${known}" == *" ${opt} "* ]] || die "unknown option --${opt} (see --help)"
        printf -v "${opt}" '%s' "${val}"
    done
}

require_integers() {  # require_integers MIN OPT...: each --OPT must be an integer >= MIN
    local min=$1 opt
    shift
    for opt in "$@"; do
        [[ "${!opt}" =~ ^[0-9]+$ ]] && [ "${!opt}" -ge "${min}" ] ||
            die "--${opt} must be an integer >= ${min}, got '${!opt}'"
    done
}

require_booleans() {  # require_booleans OPT...: each --OPT must be true or false
    local opt
    for opt in "$@"; do
        [[ "${!opt}" =~ ^(true|false)$ ]] || die "--${opt} must be true or false, got '${!opt}'"
    done
}

require_choice() {  # require_choice OPT CHOICE...: --OPT must be one of the choices
    local opt=$1 choice shown
    shift
    for choice in "$@"; do [ "${!opt}" = "${choice}" ] && return 0; done
    shown=$1
    if [ $# -gt 1 ]; then
        shown=$(printf '%s, ' "${@:1:$#-1}")
        shown="${shown%, } or ${!#}"
    fi
    die "--${opt} must be ${shown}, got '${!opt}'"
}

require_rates() {  # require_rates OPT...: each --OPT must be a sampling rate (16k, 22.05k, 8000)
    local opt
    for opt in "$@"; do
        [[ "${!opt}" =~ ^[0-9]+(\.[0-9]+)?k?$ ]] ||
            die "--${opt} must be a sampling rate such as 8k or 16000, got '${!opt}'"
    done
}

require_given() {  # require_given OPT...: each --OPT must be given
    local opt
    for opt in "$@"; do [ -n "${!opt}" ] || die "--${opt} is required"; done
}

runs() { [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; }  # runs N: is stage N selected?

check_python() {  # stop unless ${python} runs ESPnet with this project
    ${python} -m espnet2.bin.aggregate_stats_dirs --help >/dev/null 2>&1 ||
        die "'${python} -m espnet2.bin.aggregate_stats_dirs' does not run: set --python to a" \
            "command whose Python has espnet and espnet_mamba (e.g. activate the venv)"
}

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
            line=$(${python} -m espnet_mamba.bin.show_progress "$1" \
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

# ---------------------------------------------------------------- shared stages

stage_data_prep() {  # stage 1: local/data.sh ${local_data_opts}
    stage_banner 1 "Data preparation: local/data.sh ${local_data_opts}"
    [ -x local/data.sh ] || die "local/data.sh not found (or not executable) in $(pwd):" \
        "run $(basename "${template}") from a recipe dir"
    # shellcheck disable=SC2086  # local_data_opts holds several words
    run_visible local/data.sh ${local_data_opts} ||
        die "stage 1 failed: local/data.sh exited with an error (messages above)"
    stage_done
}

format_opts() {  # format_opts DSET: set opts to format_data_dir's options for set DSET
    # (the duration limits for the training and validation sets only)
    opts=(--fs "${fs}" --audio_format "${audio_format}" --resample "${resample}" --nj "${nj}")
    if [ "$1" = "${train_set}" ] || [ "$1" = "${valid_set}" ]; then
        opts+=(--min_duration "${min_wav_duration}" --max_duration "${max_wav_duration}")
    fi
}

format_set() {  # format_set DSET OUT OPT...: data/DSET -> OUT (format_data_dir), once
    local dset=$1 out=$2
    shift 2
    is_done "${out}" "formatting ${out}" && return 0
    require_file "data/${dset}/wav.scp" "the data dir of set '${dset}'; run stage 1"
    run_logged "${data_feats}/logs/format_${dset}.log" \
        ${python} -m espnet_mamba.bin.format_data_dir "data/${dset}" "${out}" "$@"
    touch "${out}/.done"
    log "  ${out}: $(num_lines "${out}/wav.scp") utterances"
    if [ -f "${out}/dropped_utts.tsv" ]; then
        log "  $(($(num_lines "${out}/dropped_utts.tsv") - 1)) utterance(s) dropped (unreadable," \
            "truncated or outside the duration range), listed in ${out}/dropped_utts.tsv"
    fi
}

collect_stats() {  # collect_stats OUT TRAIN VALID TOOL ARG...: espnet2.bin.TOOL --collect_stats
    # true over the formatted sets TRAIN and VALID in up to --nj jobs, aggregated into OUT
    local out=$1 train=$2 valid=$3 tool=$4 n job input_dirs=()
    shift 4
    n=$(min "${nj}" "$(num_lines "${train}/wav.scp")" "$(num_lines "${valid}/wav.scp")")
    split_keys "${train}/wav.scp" "${n}" "${out}/logs/train"
    split_keys "${valid}/wav.scp" "${n}" "${out}/logs/valid"
    # shellcheck disable=SC2086  # python holds several words
    run_jobs "${n}" "${out}/logs/stats.JOB.log" ${python} -m "espnet2.bin.${tool}" \
        --collect_stats true --train_shape_file "${out}/logs/train.JOB.scp" \
        --valid_shape_file "${out}/logs/valid.JOB.scp" --output_dir "${out}/logs/stats.JOB" "$@"
    for job in $(seq 1 "${n}"); do input_dirs+=(--input_dir "${out}/logs/stats.${job}"); done
    run_logged "${out}/logs/aggregate_stats_dirs.log" \
        ${python} -m espnet2.bin.aggregate_stats_dirs "${input_dirs[@]}" --output_dir "${out}"
}

add_vocab_size() {  # add_vocab_size STATS_DIR: text_shape -> text_shape.${token_type}
    # ("length,vocabulary size" per line, for batch bins), vocabulary from ${token_list}
    local vocab mode
    vocab=$(num_lines "${token_list}")
    for mode in train valid; do
        awk -v v="${vocab}" '{ print $0 "," v }' "$1/${mode}/text_shape" \
            >"$1/${mode}/text_shape.${token_type}"
    done
}

write_results() {  # write_results TASK EXP_DIR ARG...: EXP_DIR/RESULTS.md, printed
    run_logged "$2/logs/write_results.log" ${python} -m espnet_mamba.bin.write_results "$@"
    cat "$2/RESULTS.md"
    log "  results: $2/RESULTS.md"
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
