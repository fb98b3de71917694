#!/usr/bin/env bash
# espnet-mamba's speech enhancement/separation recipe stages: a compact counterpart of
# ESPnet's egs2/TEMPLATE/enh1/enh.sh that needs no Kaldi tools.  Option names are
# ESPnet's where they exist; the stages are renumbered:
#
#   1  data preparation   local/data.sh ${local_data_opts} -> data/<set>/{wav.scp (mixtures),
#                         spk1.scp..spk<ref_num>.scp, [noise1.scp..], utt2spk, spk2utt}
#   2  format audio       mixtures and references as mono 16-bit audio at --fs in ${dumpdir}/raw/<set>
#   3  collect stats      espnet2.bin.enh_train --collect_stats true (shapes)
#   4  training           espnet2.bin.enh_train
#   5  separation         espnet2.bin.enh_inference on every --test_sets set:
#                         ${enh_exp}/${inference_tag}_<set>/spk<i>.scp and the wavs
#   6  scoring            SI-SNR(i), SDR(i), STOI, PESQ per utterance, ${enh_exp}/RESULTS.md
#
# Run it from a recipe dir (the one with local/data.sh and conf/), usually via run.sh:
#   ./enh.sh --train_set train --valid_set dev --test_sets "test" --fs 8k \
#       --ref_num 2 --enh_config conf/train_enh.yaml
#
# Re-running is safe: each finished step of stages 2-6 leaves a `.done` marker in its
# output and is skipped next time (delete the marker or the dir to redo it).  Outputs
# are built under `<dir>.tmp` and moved into place when complete (training resumes from
# its last checkpoint instead), so an interrupted run is never taken for a finished one.
# Every ESPnet step runs as `${python} -m espnet2.bin.<tool>`; when a step fails, the run
# stops and prints the path of its log.
set -euo pipefail

# Options (--name value or --name=value; the defaults follow)
# -- general
stage=1                      # first stage to run
stop_stage=10000             # last stage to run
nj=4                         # parallel jobs for formatting and stats collection
inference_nj=4               # parallel jobs for separation
ngpu=1                       # GPUs for training (0: CPU)
num_nodes=1                  # nodes for training (more than 1: with --dist_launcher)
dist_launcher=""             # slurm or mpi: start the training on --num_nodes nodes
gpu_inference=false          # separate on a GPU
python="python3 -m espnet_mamba.run"  # command that runs `-m espnet2.bin.X` with our classes
dumpdir=dump                 # formatted data
expdir=exp                   # experiments
local_data_opts=""           # options passed to local/data.sh
# -- data
train_set=""                 # training set, a dir under data/
valid_set=""                 # validation set, a dir under data/
test_sets=""                 # sets to separate and score, space-separated
fs=16k                       # sampling rate of the formatted audio
audio_format=flac            # flac or wav
resample=true                # false: audio at another rate than --fs is an error
min_wav_duration=0.1         # shorter training/validation mixtures are dropped (seconds)
max_wav_duration=20          # longer training/validation mixtures are dropped (seconds)
ref_num=2                    # reference speakers: spk1.scp .. spk<ref_num>.scp
use_noise_ref=false          # also train with noise references noise1.scp .. (train/valid sets)
noise_type_num=1             # number of noise references
# -- model
enh_config=""                # training config
enh_tag=""                   # experiment name suffix (default from the config name)
enh_exp=""                   # experiment dir (default ${expdir}/enh_${enh_tag})
enh_stats_dir=""             # stats dir (default ${expdir}/enh_stats_${fs})
enh_args=""                  # extra options of espnet2.bin.enh_train
enh_speech_fold_length=800   # length folding of the batches (x100 samples)
# -- separation and scoring
inference_model=valid.loss.ave.pth  # model file in ${enh_exp} to separate with
inference_tag=""             # prefix of the separated-set dirs (default: enhanced)
inference_enh_config=""      # enh_inference --inference_config (overrides model settings)
inference_args="--normalize_output_wav true"  # extra options of espnet2.bin.enh_inference
scoring_metrics="SI_SNR SDR STOI PESQ"  # any of these (PESQ needs 8k or 16k audio)
# End of options

# log, die and the stage helpers (shared with the other templates)
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/stages.sh"

parse_options "$@"

# ---------------------------------------------------------------- checks
require_integers 0 stage stop_stage ngpu
require_integers 1 nj inference_nj num_nodes ref_num noise_type_num
require_booleans gpu_inference resample use_noise_ref
require_rates fs
require_choice audio_format flac wav
for metric in ${scoring_metrics}; do
    case "${metric}" in SI_SNR | SDR | STOI | PESQ) ;;
        *) die "--scoring_metrics: unknown metric '${metric}' (choose from SI_SNR SDR STOI PESQ)" ;;
    esac
done
[ -n "${scoring_metrics// /}" ] || die "--scoring_metrics must name at least one metric"
require_given train_set valid_set test_sets
# The config is read by stages 3 and 4 and names the experiment dir of stages 5-6.
if runs 3 || runs 4 || { [ -z "${enh_exp}" ] && { runs 5 || runs 6; }; }; then
    [ -n "${enh_config}" ] || die "--enh_config is required for stages 3-6"
    [ -f "${enh_config}" ] || die "enhancement config not found: ${enh_config}"
fi
if [ -n "${inference_enh_config}" ] && runs 5; then
    [ -f "${inference_enh_config}" ] || die "inference config not found: ${inference_enh_config}"
fi

# ---------------------------------------------------------------- derived names
# Dir names follow ESPnet's: exp/enh_<config>_raw, exp/enh_stats_8k, exp/enh_.../enhanced_<set>.
data_feats=${dumpdir}/raw
enh_tag=${enh_tag:-$(basename "${enh_config:-train}" .yaml)_raw}
enh_exp=${enh_exp:-${expdir}/enh_${enh_tag}}
enh_stats_dir=${enh_stats_dir:-${expdir}/enh_stats_${fs}}
inference_tag=${inference_tag:-enhanced}
# The audio tables of a set and the names ESPnet's enhancement task reads them as.
ref_scps=()
for i in $(seq "${ref_num}"); do ref_scps+=("spk${i}.scp"); done
train_scps=("${ref_scps[@]}")           # + noise references: formatted for train/valid only
train_names=()
for i in $(seq "${ref_num}"); do train_names+=("speech_ref${i}"); done
if "${use_noise_ref}"; then
    for i in $(seq "${noise_type_num}"); do
        train_scps+=("noise${i}.scp")
        train_names+=("noise_ref${i}")
    done
fi

# ---------------------------------------------------------------- helpers

add_data_opts() {  # add_data_opts MODE DIR: append DIR's inputs as --MODE_data_path_and_name_and_type to opts
    local i
    opts+=("--$1_data_path_and_name_and_type" "$2/wav.scp,speech_mix,sound")
    for i in "${!train_scps[@]}"; do
        opts+=("--$1_data_path_and_name_and_type" "$2/${train_scps[i]},${train_names[i]},sound")
    done
}

move_paths() {  # move_paths FROM TO < SCP: rewrite the paths under dir FROM as under TO
    awk -v from="$1/" -v to="$2/" \
        '{ if (index($2, from) == 1) $2 = to substr($2, length(from) + 1); print }'
}

check_python
log "${command_line}"
log "Enhancement experiment: ${enh_exp}"
lock_experiment "${enh_exp}"

# ---------------------------------------------------------------- stage 1
if runs 1; then
    stage_data_prep
fi

# ---------------------------------------------------------------- stage 2
if runs 2; then
    stage_banner 2 "Format audio (${fs}, ${audio_format}): data/ -> ${data_feats}/"
    for dset in "${train_set}" "${valid_set}" ${test_sets}; do
        format_opts "${dset}"
        if [ "${dset}" = "${train_set}" ] || [ "${dset}" = "${valid_set}" ]; then
            opts+=(--extra_scps "${train_scps[@]}")
        else
            opts+=(--extra_scps "${ref_scps[@]}")
        fi
        format_set "${dset}" "${data_feats}/${dset}" "${opts[@]}"
    done
    stage_done
fi

# ---------------------------------------------------------------- stage 3
if runs 3; then
    stage_banner 3 "Collect stats: ${enh_stats_dir}"
    if ! is_done "${enh_stats_dir}" "stats ${enh_stats_dir}"; then
        for dset in "${train_set}" "${valid_set}"; do
            require_file "${data_feats}/${dset}/.done" "formatted set '${dset}'; run stage 2"
        done
        tmp=$(fresh_tmp "${enh_stats_dir}")
        opts=()
        add_data_opts train "${data_feats}/${train_set}"
        add_data_opts valid "${data_feats}/${valid_set}"
        # shellcheck disable=SC2086  # enh_args holds several words
        collect_stats "${tmp}" "${data_feats}/${train_set}" "${data_feats}/${valid_set}" enh_train \
            "${opts[@]}" --config "${enh_config}" ${enh_args}
        finish_dir "${enh_stats_dir}"
    fi
    stage_done
fi

# ---------------------------------------------------------------- stage 4
if runs 4; then
    stage_banner 4 "Training: ${enh_exp}"
    if ! is_done "${enh_exp}" "training ${enh_exp}"; then
        check_checkpoint "${enh_exp}" "./run.sh --stage 4 --enh_args"
        require_file "${enh_stats_dir}/.done" "run stage 3"
        opts=()
        add_data_opts train "${data_feats}/${train_set}"
        add_data_opts valid "${data_feats}/${valid_set}"
        distributed_training "${enh_exp}"  # sets dist_args and dist_prefix
        log "  follow the training with: tail -f ${enh_exp}/train.log"
        # All inputs of a mixture have its length: its shape orders and folds the batches.
        # shellcheck disable=SC2086
        run_training "${enh_exp}/train.log" "${dist_prefix[@]}" ${python} -m espnet2.bin.enh_train \
            --ngpu "${ngpu}" "${dist_args[@]}" "${opts[@]}" \
            --train_shape_file "${enh_stats_dir}/train/speech_mix_shape" \
            --valid_shape_file "${enh_stats_dir}/valid/speech_mix_shape" \
            --fold_length "$((enh_speech_fold_length * 100))" \
            --resume true --output_dir "${enh_exp}" --config "${enh_config}" ${enh_args}
        touch "${enh_exp}/.done"
    fi
    stage_done
fi

# ---------------------------------------------------------------- stage 5
if runs 5; then
    stage_banner 5 "Separation: ${enh_exp}/${inference_tag}_<set>"
    require_file "${enh_exp}/${inference_model}" \
        "the model to separate with: finish stage 4 or choose another --inference_model"
    opts=(--train_config "${enh_exp}/config.yaml" --model_file "${enh_exp}/${inference_model}")
    if [ -n "${inference_enh_config}" ]; then opts+=(--inference_config "${inference_enh_config}"); fi
    _ngpu=$("${gpu_inference}" && echo 1 || echo 0)
    for dset in ${test_sets}; do
        dir=${enh_exp}/${inference_tag}_${dset}
        is_done "${dir}" "separation ${dir}" && continue
        require_file "${data_feats}/${dset}/.done" "formatted set '${dset}'; run stage 2"
        tmp=$(fresh_tmp "${dir}")
        _nj=$(min "${inference_nj}" "$(num_lines "${data_feats}/${dset}/wav.scp")")
        split_keys "${data_feats}/${dset}/wav.scp" "${_nj}" "${tmp}/logs/keys"
        # shellcheck disable=SC2086
        run_jobs "${_nj}" "${tmp}/logs/enh_inference.JOB.log" \
            ${python} -m espnet2.bin.enh_inference --ngpu "${_ngpu}" --fs "${fs}" \
            --data_path_and_name_and_type "${data_feats}/${dset}/wav.scp,speech_mix,sound" \
            --key_file "${tmp}/logs/keys.JOB.scp" --output_dir "${tmp}/logs/output.JOB" \
            "${opts[@]}" ${inference_args}
        # enh_inference writes absolute paths: make them point into the final dir
        for scp in "${ref_scps[@]}"; do
            cat "${tmp}"/logs/output.*/"${scp}" | LC_ALL=C sort -k1,1 |
                move_paths "$(realpath "${tmp}")" "$(realpath -m "${dir}")" >"${tmp}/${scp}"
        done
        finish_dir "${dir}"
        log "  separated: ${dir}/{$(IFS=,; echo "${ref_scps[*]}")}"
    done
    stage_done
fi

# ---------------------------------------------------------------- stage 6
if runs 6; then
    stage_banner 6 "Scoring: ${enh_exp}/${inference_tag}_<set>/scoring"
    for dset in ${test_sets}; do
        dir=${enh_exp}/${inference_tag}_${dset}
        is_done "${dir}/scoring" "scoring ${dir}/scoring" && continue
        require_file "${dir}/.done" "separated set '${dset}'; run stage 5"
        opts=(--mix_scp "${data_feats}/${dset}/wav.scp")
        for scp in "${ref_scps[@]}"; do
            opts+=(--ref_scp "${data_feats}/${dset}/${scp}" --inf_scp "${dir}/${scp}")
        done
        tmp=$(fresh_tmp "${dir}/scoring")
        # shellcheck disable=SC2086  # scoring_metrics holds several words
        run_logged "${dir}/logs/score_enh.log" ${python} -m espnet_mamba.bin.score_enh \
            "${opts[@]}" --metrics ${scoring_metrics} --output_dir "${tmp}"
        finish_dir "${dir}/scoring"
        sed 's/^/  /' "${dir}/logs/score_enh.log"
        log "  per utterance: ${dir}/scoring/per_utterance.tsv"
    done
    write_results enh "${enh_exp}"
    stage_done
fi

log "Finished stages ${stage}-${stop_stage} [${SECONDS}s]"
