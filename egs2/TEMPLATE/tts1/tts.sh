#!/usr/bin/env bash
# espnet-mamba's TTS recipe stages: a compact counterpart of ESPnet's
# egs2/TEMPLATE/tts1/tts.sh that needs no Kaldi tools, with objective scoring.  Option
# names are ESPnet's where they exist; the stages are renumbered:
#
#   1  data preparation   local/data.sh ${local_data_opts} -> data/<set>/{wav.scp,text,utt2spk,spk2utt}
#   2  format audio       mono 16-bit audio at --fs in ${dumpdir}/raw/<set>
#   3  token list         char (optionally with a --cleaner), or phonemes (--token_type phn --g2p ...)
#   4  collect stats      espnet2.bin.tts_train --collect_stats true (shapes, mel mean/var);
#                         with --durations_asr_exp (and a model that takes durations:
#                         espnet_mamba.bin.takes_durations) first the teacher durations
#                         of the training and validation sets (espnet_mamba.bin.align_durations)
#   5  TTS training       espnet2.bin.tts_train (global_mvn-normalised mel targets)
#   6  decoding           espnet2.bin.tts_inference on every --test_sets set: mel (norm/,
#                         denorm/) and wav/ (Griffin-Lim, or --vocoder_file)
#   7  scoring            MCD (DTW) against the reference audio; with --asr_model_dir, ASR
#                         of the synthesized and of the reference speech (CER/WER);
#                         real-time factor; ${tts_exp}/RESULTS.md
#
# Run it from a recipe dir (the one with local/data.sh and conf/), usually via run.sh:
#   ./tts.sh --train_set train --valid_set dev --test_sets "test" --fs 16k \
#       --train_config conf/train_mamba_tts.yaml --inference_config conf/decode_tts.yaml
#
# Re-running is safe: each finished step of stages 2-7 leaves a `.done` marker in its
# output and is skipped next time (delete the marker or the dir to redo it).  Outputs
# are built under `<dir>.tmp` and moved into place when complete (training resumes from
# its last checkpoint instead), so an interrupted run is never taken for a finished one.
# Every ESPnet step runs as `${python} -m espnet2.bin.<tool>`; when a step fails, the run
# stops and prints the path of its log.
#
# The training config's feats_extract must take `fs` (ESPnet's fbank does): stage 4
# and 5 set it to --fs.  Configs that share the stats dir (the default name depends on
# the tokens only, as in ESPnet) must share their feature settings.
# espnet2.bin.tts_inference passes threshold/minlenratio/maxlenratio of the decoding
# config only to ESPnet's Tacotron2 and Transformer; mamba_tts then uses its own
# defaults (0.5, 0.0, 10.0, the same as ESPnet's), and stage 6 warns.
set -euo pipefail

# Options (--name value or --name=value; the defaults follow)
# -- general
stage=1                      # first stage to run
stop_stage=10000             # last stage to run
nj=4                         # parallel jobs for formatting and stats collection
inference_nj=4               # parallel jobs for decoding and ASR transcription
ngpu=1                       # GPUs for training (0: CPU)
num_nodes=1                  # nodes for training (more than 1: with --dist_launcher)
dist_launcher=""             # slurm or mpi: start the training on --num_nodes nodes
gpu_inference=false          # decode on a GPU
python="python3 -m espnet_mamba.run"  # command that runs `-m espnet2.bin.X` with our classes
dumpdir=dump                 # formatted data
expdir=exp                   # experiments
local_data_opts=""           # options passed to local/data.sh
# -- data
train_set=""                 # training set, a dir under data/
valid_set=""                 # validation set, a dir under data/
test_sets=""                 # sets to synthesize and score, space-separated
fs=16k                       # sampling rate of the formatted audio (and of the features)
audio_format=flac            # flac or wav
resample=true                # false: audio at another rate than --fs is an error
min_wav_duration=0.1         # shorter training/validation utterances are dropped (seconds)
max_wav_duration=20          # longer training/validation utterances are dropped (seconds)
# -- tokens
lang=noinfo                  # language tag used in dir names
token_type=char              # char or phn
cleaner=none                 # ESPnet text cleaner (none, tacotron, ...)
g2p=none                     # ESPnet g2p for --token_type phn (e.g. espeak_ng_english_us_vits)
srctexts=""                  # transcripts for the token list (default: data/${train_set}/text)
blank="<blank>"              # blank symbol (id 0: padding)
oov="<unk>"                  # unknown-token symbol
sos_eos="<sos/eos>"          # start/end-of-sentence symbol (the last id)
# -- TTS model
train_config=""              # TTS training config
tag=""                       # experiment name suffix (default from the config name)
tts_exp=""                   # experiment dir (default ${expdir}/tts_${tag})
tts_stats_dir=""             # stats dir (default ${expdir}/tts_stats_raw_...)
train_args=""                # extra options of espnet2.bin.tts_train
feats_normalize=global_mvn   # global_mvn (stage-4 stats) or none
text_fold_length=150         # length folding of text batches (tokens)
durations_asr_exp=""         # <asr recipe>/exp/<asr exp>: its CTC alignment gives the teacher durations
                             # (${dumpdir}/raw/<set>/durations; --token_type char) of the models that take them
durations_asr_model=valid.acc.ave.pth  # model file in ${durations_asr_exp}
speech_fold_length=800       # length folding of speech batches (x100 samples)
# -- decoding
inference_config=""          # decoding config of espnet2.bin.tts_inference
inference_tag=""             # decoding dir name (default from the config, model and vocoder)
inference_args=""            # extra options of espnet2.bin.tts_inference
inference_model=valid.loss.ave.pth  # model file in ${tts_exp} to decode with
vocoder_file=""              # a trained vocoder (ESPnet: parallel_wavegan .pkl); empty: Griffin-Lim
vocoder_config=""            # its config (default: config.yml beside it)
griffin_lim_iters=32         # Griffin-Lim iterations (without --vocoder_file)
# -- scoring
mcd_args=""                  # extra options of espnet_mamba.bin.score_tts (--order, --alpha, ...)
asr_model_dir=""             # <asr recipe>/exp/<asr exp>: transcribe the synthesized speech
asr_model_file=valid.acc.ave.pth  # model file in ${asr_model_dir}
asr_inference_config=""      # decoding config of espnet2.bin.asr_inference
asr_fs=16k                   # sampling rate of the ASR model's input
asr_min_duration=0.1         # shorter speech is not transcribed (empty hypothesis; seconds)
# End of options

# log, die and the stage helpers (shared with the other templates)
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/stages.sh"

parse_options "$@"

# ---------------------------------------------------------------- checks
require_integers 0 stage stop_stage ngpu griffin_lim_iters
require_integers 1 nj inference_nj num_nodes
require_booleans gpu_inference resample
require_rates fs asr_fs
require_choice token_type char phn
if [ "${token_type}" = phn ] && [ "${g2p}" = none ]; then
    die "--token_type phn needs --g2p (an ESPnet g2p, e.g. espeak_ng_english_us_vits)"
fi
require_choice feats_normalize global_mvn none
require_choice audio_format flac wav
require_given train_set valid_set test_sets
# The training config is read by stages 4 and 5 and names the experiment dir of stages 6-7.
if runs 4 || runs 5 || { [ -z "${tts_exp}" ] && { runs 6 || runs 7; }; }; then
    [ -n "${train_config}" ] || die "--train_config is required for stages 4-7"
    [ -f "${train_config}" ] || die "training config not found: ${train_config}"
fi
if runs 6; then
    if [ -n "${inference_config}" ]; then
        [ -f "${inference_config}" ] || die "decoding config not found: ${inference_config}"
    fi
    if [ -n "${vocoder_file}" ]; then
        [ -f "${vocoder_file}" ] || die "vocoder file not found: ${vocoder_file}"
    fi
fi
if runs 7 && [ -n "${asr_model_dir}" ]; then
    [ -f "${asr_model_dir}/config.yaml" ] || die "--asr_model_dir ${asr_model_dir}: no config.yaml there"
    [ -e "${asr_model_dir}/${asr_model_file}" ] || die "ASR model not found: ${asr_model_dir}/${asr_model_file}"
    if [ -n "${asr_inference_config}" ]; then
        [ -f "${asr_inference_config}" ] || die "ASR decoding config not found: ${asr_inference_config}"
    fi
fi

# ---------------------------------------------------------------- derived names
# Dir names follow ESPnet's: e.g. exp/tts_<config>_raw_en_phn_tacotron_g2p_en, exp/tts_stats_raw_en_phn_tacotron_g2p_en.
data_feats=${dumpdir}/raw
lang_part=""                                  # "_<lang>" unless --lang noinfo
if [ "${lang}" != noinfo ]; then lang_part=_${lang}; fi
token_part=${token_type}                      # char, char_tacotron, phn_g2p_en, phn_tacotron_g2p_en
if [ "${cleaner}" != none ]; then token_part+=_${cleaner}; fi
if [ "${token_type}" = phn ]; then token_part+=_${g2p}; fi
token_dir=data/${lang}_token_list/${token_part}
token_list=${token_dir}/tokens.txt
srctexts=${srctexts:-data/${train_set}/text}
tag=${tag:-$(basename "${train_config:-train}" .yaml)_raw${lang_part}_${token_part}}
tts_exp=${tts_exp:-${expdir}/tts_${tag}}
tts_stats_dir=${tts_stats_dir:-${expdir}/tts_stats_raw${lang_part}_${token_part}}
if [ -z "${inference_tag}" ]; then
    inference_tag="$(basename "${inference_config:-decode}" .yaml)_${inference_model%.*}"
    if [ -n "${vocoder_file}" ]; then
        inference_tag+="_$(basename "${vocoder_file%.*}")"
    else
        inference_tag+="_griffin_lim${griffin_lim_iters}"
    fi
    inference_tag=${inference_tag//\//_}
fi
decode_dir=${tts_exp}/${inference_tag}
inference_ngpu=$("${gpu_inference}" && echo 1 || echo 0)

# ---------------------------------------------------------------- helpers

yaml_value() {  # yaml_value FILE KEY: the value of a top-level "KEY: value" line (or nothing)
    awk -v key="$2:" '$1 == key { print $2; exit }' "$1"
}

transcribe() {  # transcribe WAV_SCP TEXT OUT: ASR of WAV_SCP scored against TEXT, into OUT
    local wav_scp=$1 text=$2 out=$3 tmp abs_tmp min_samples n_short _nj
    is_done "${out}" "ASR into ${out}" && return 0
    tmp=$(fresh_tmp "${out}")
    abs_tmp=$(realpath "${tmp}")
    # the audio as a data dir at the ASR model's rate, with absolute paths: the ASR runs
    # in its recipe dir (<recipe>/exp/<asr exp>/../..), where its config.yaml's paths lead
    mkdir -p "${tmp}/source"
    cp "${wav_scp}" "${tmp}/source/wav.scp"
    awk 'FNR == NR { keep[$1] = 1; next } $1 in keep' "${wav_scp}" "${text}" >"${tmp}/ref_text"
    cp "${tmp}/ref_text" "${tmp}/source/text"
    awk '{ print $1, $1 }' "${wav_scp}" >"${tmp}/source/utt2spk"
    run_logged "${tmp}/logs/format_data_dir.log" ${python} -m espnet_mamba.bin.format_data_dir \
        "${tmp}/source" "${abs_tmp}/input" --fs "${asr_fs}" --audio_format wav --nj "${nj}"
    min_samples=$(echo "${asr_fs} ${asr_min_duration}" |
        awk '{ fs = $1; if (fs ~ /k$/) { sub(/k$/, "", fs); fs *= 1000 } print int(fs * $2) }')
    awk -v min="${min_samples}" 'FNR == NR { if ($2 >= min) keep[$1] = 1; next } $1 in keep' \
        "${tmp}/input/utt2num_samples" "${tmp}/input/wav.scp" >"${tmp}/logs/asr.scp"
    n_short=$(($(num_lines "${tmp}/input/wav.scp") - $(num_lines "${tmp}/logs/asr.scp")))
    if [ "${n_short}" -gt 0 ]; then
        log "  ${n_short} utterance(s) shorter than ${asr_min_duration} s: not transcribed (empty hypothesis)"
    fi
    : >"${tmp}/logs/hyp_text"
    if [ -s "${tmp}/logs/asr.scp" ]; then
        _nj=$(min "${inference_nj}" "$(num_lines "${tmp}/logs/asr.scp")")
        split_keys "${tmp}/logs/asr.scp" "${_nj}" "${tmp}/logs/keys"
        # shellcheck disable=SC2086
        (cd "${asr_model_dir}/../.." && run_jobs "${_nj}" "${abs_tmp}/logs/asr_inference.JOB.log" \
            ${python} -m espnet2.bin.asr_inference --batch_size 1 --ngpu "${inference_ngpu}" \
            --data_path_and_name_and_type "${abs_tmp}/input/wav.scp,speech,sound" \
            --key_file "${abs_tmp}/logs/keys.JOB.scp" \
            --output_dir "${abs_tmp}/logs/output.JOB" "${asr_opts[@]}")
        cat "${tmp}"/logs/output.*/1best_recog/text >"${tmp}/logs/hyp_text"
    fi
    awk -v hyps="${tmp}/logs/hyp_text" '
        BEGIN { while ((getline line < hyps) > 0) { split(line, f, " "); hyp[f[1]] = line } }
        { print (($1 in hyp) ? hyp[$1] : $1) }' "${tmp}/ref_text" >"${tmp}/text"
    rm -rf "${tmp}/input"  # resampled copies
    run_logged "${tmp}/logs/score_asr.log" ${python} -m espnet_mamba.bin.score_asr \
        --ref "${tmp}/ref_text" --hyp "${tmp}/text" --output_dir "${tmp}"
    finish_dir "${out}"
}

check_python
log "${command_line}"
log "TTS experiment: ${tts_exp}"
# Teacher durations go to the models that take them; the others (transformer, tacotron2,
# mamba_tts) learn their own alignment, and the option is ignored for them.
use_durations=false
if [ -n "${durations_asr_exp}" ] && { runs 4 || runs 5; }; then
    # shellcheck disable=SC2086  # python holds several words
    takes=$(${python} -m espnet_mamba.bin.takes_durations "${train_config}") ||
        die "cannot tell whether the tts of ${train_config} takes teacher durations (see above)"
    if [ "$(tail -n 1 <<<"${takes}")" = true ]; then
        use_durations=true
    else
        log "  --durations_asr_exp: tts '$(yaml_value "${train_config}" tts)' of ${train_config}" \
            "takes no teacher durations; not used"
    fi
fi
if runs 4 && "${use_durations}"; then
    [ -f "${durations_asr_exp}/config.yaml" ] || die "--durations_asr_exp ${durations_asr_exp}: no config.yaml there"
    [ -e "${durations_asr_exp}/${durations_asr_model}" ] ||
        die "aligning ASR model not found: ${durations_asr_exp}/${durations_asr_model} (--durations_asr_model)"
fi
lock_experiment "${tts_exp}"

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
            opts+=(--drop_empty_text)
        fi
        format_set "${dset}" "${data_feats}/${dset}" "${opts[@]}"
    done
    stage_done
fi

# Options of espnet2.bin.tts_train that describe the text side.
text_opts=(--use_preprocessor true --token_type "${token_type}" --token_list "${token_list}"
    --cleaner "${cleaner}" --g2p "${g2p}")

# ---------------------------------------------------------------- stage 3
if runs 3; then
    stage_banner 3 "Token list (${token_part}): ${token_list}"
    if ! is_done "${token_dir}" "token list ${token_list}"; then
        require_file "${srctexts}" "transcripts for the token list; run stage 1"
        tmp=$(fresh_tmp "${token_dir}")
        run_logged "${tmp}/logs/tokenize_text.log" ${python} -m espnet2.bin.tokenize_text \
            --token_type "${token_type}" --cleaner "${cleaner}" --g2p "${g2p}" \
            --input "${srctexts}" --output "${tmp}/tokens.txt" --field 2- \
            --write_vocabulary true --add_symbol "${blank}:0" --add_symbol "${oov}:1" \
            --add_symbol "${sos_eos}:-1"
        finish_dir "${token_dir}"
        log "  ${token_list}: $(num_lines "${token_list}") tokens"
    fi
    stage_done
fi

# Training and validation data of espnet2.bin.tts_train.
data_opts=(
    --train_data_path_and_name_and_type "${data_feats}/${train_set}/text,text,text"
    --train_data_path_and_name_and_type "${data_feats}/${train_set}/wav.scp,speech,sound"
    --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/text,text,text"
    --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/wav.scp,speech,sound")
if "${use_durations}"; then
    data_opts+=(
        --train_data_path_and_name_and_type "${data_feats}/${train_set}/durations,durations,text_int"
        --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/durations,durations,text_int")
fi

# ---------------------------------------------------------------- stage 4
if runs 4; then
    stage_banner 4 "Collect stats: ${tts_stats_dir}"
    if ! is_done "${tts_stats_dir}" "stats ${tts_stats_dir}"; then
        require_file "${token_list}" "run stage 3"
        for dset in "${train_set}" "${valid_set}"; do
            require_file "${data_feats}/${dset}/.done" "formatted set '${dset}'; run stage 2"
        done
        if "${use_durations}"; then
            [ "${token_type}" = char ] || die "--durations_asr_exp needs --token_type char"
            for dset in "${train_set}" "${valid_set}"; do
                [ -s "${data_feats}/${dset}/durations" ] && continue  # written atomically
                log "  teacher durations of ${dset}: CTC alignment with ${durations_asr_exp}"
                # shellcheck disable=SC2086  # python holds several words
                run_logged "${data_feats}/${dset}/logs/align_durations.log" \
                    ${python} -m espnet_mamba.bin.align_durations --asr_exp "${durations_asr_exp}" \
                    --asr_model "${durations_asr_model}" --data_dir "${data_feats}/${dset}" \
                    --tts_config "${train_config}" --output "${data_feats}/${dset}/durations"
            done
        fi
        tmp=$(fresh_tmp "${tts_stats_dir}")
        # shellcheck disable=SC2086  # train_args holds several words
        collect_stats "${tmp}" "${data_feats}/${train_set}" "${data_feats}/${valid_set}" tts_train \
            --write_collected_feats false --normalize none "${text_opts[@]}" "${data_opts[@]}" \
            --config "${train_config}" --feats_extract_conf fs="${fs}" ${train_args}
        add_vocab_size "${tmp}"
        finish_dir "${tts_stats_dir}"
    fi
    stage_done
fi

# ---------------------------------------------------------------- stage 5
if runs 5; then
    stage_banner 5 "TTS training: ${tts_exp}"
    if ! is_done "${tts_exp}" "TTS training ${tts_exp}"; then
        check_checkpoint "${tts_exp}" "./run.sh --stage 5 --train_args"
        require_file "${tts_stats_dir}/.done" "run stage 4"
        opts=()
        if [ "${feats_normalize}" = global_mvn ]; then
            opts+=(--normalize global_mvn
                --normalize_conf "stats_file=${tts_stats_dir}/train/feats_stats.npz")
        else
            opts+=(--normalize none)
        fi
        distributed_training "${tts_exp}"  # sets dist_args and dist_prefix
        log "  follow the training with: tail -f ${tts_exp}/train.log"
        # shellcheck disable=SC2086
        run_training "${tts_exp}/train.log" "${dist_prefix[@]}" ${python} -m espnet2.bin.tts_train \
            --ngpu "${ngpu}" "${dist_args[@]}" "${text_opts[@]}" "${data_opts[@]}" \
            --train_shape_file "${tts_stats_dir}/train/text_shape.${token_type}" \
            --train_shape_file "${tts_stats_dir}/train/speech_shape" \
            --valid_shape_file "${tts_stats_dir}/valid/text_shape.${token_type}" \
            --valid_shape_file "${tts_stats_dir}/valid/speech_shape" \
            --fold_length "${text_fold_length}" \
            --fold_length "$((speech_fold_length * 100))" \
            --resume true --output_dir "${tts_exp}" --config "${train_config}" \
            --feats_extract_conf fs="${fs}" "${opts[@]}" ${train_args}
        touch "${tts_exp}/.done"
    fi
    stage_done
fi

# ---------------------------------------------------------------- stage 6
if runs 6; then
    stage_banner 6 "Decoding: ${decode_dir}"
    require_file "${tts_exp}/${inference_model}" \
        "the model to decode with: finish stage 5 or choose another --inference_model"
    opts=(--train_config "${tts_exp}/config.yaml" --model_file "${tts_exp}/${inference_model}")
    if [ -n "${inference_config}" ]; then
        opts+=(--config "${inference_config}")
        tts_name=$(yaml_value "${tts_exp}/config.yaml" tts)
        if grep -qE '^(threshold|minlenratio|maxlenratio):' "${inference_config}" &&
            [ "${tts_name}" != tacotron2 ] && [ "${tts_name}" != transformer ]; then
            log "  WARNING: espnet2.bin.tts_inference passes threshold/minlenratio/maxlenratio" \
                "of ${inference_config} only to tacotron2/transformer; '${tts_name}' uses its own defaults"
        fi
    fi
    for dset in ${test_sets}; do
        dir=${decode_dir}/${dset}
        is_done "${dir}" "decoding ${dir}" && continue
        require_file "${data_feats}/${dset}/.done" "formatted set '${dset}'; run stage 2"
        tmp=$(fresh_tmp "${dir}")
        vocoder_opts=()
        if [ -n "${vocoder_file}" ]; then
            vocoder_opts+=(--vocoder_file "${vocoder_file}")
            if [ -n "${vocoder_config}" ]; then vocoder_opts+=(--vocoder_config "${vocoder_config}"); fi
        else
            echo "griffin_lim_iters: ${griffin_lim_iters}" >"${tmp}/logs/griffin_lim.yaml"
            vocoder_opts+=(--vocoder_config "${tmp}/logs/griffin_lim.yaml")
        fi
        _nj=$(min "${inference_nj}" "$(num_lines "${data_feats}/${dset}/text")")
        split_keys "${data_feats}/${dset}/text" "${_nj}" "${tmp}/logs/keys"
        # shellcheck disable=SC2086
        run_jobs "${_nj}" "${tmp}/logs/tts_inference.JOB.log" \
            ${python} -m espnet2.bin.tts_inference --batch_size 1 --ngpu "${inference_ngpu}" \
            --num_workers 0 --data_path_and_name_and_type "${data_feats}/${dset}/text,text,text" \
            --key_file "${tmp}/logs/keys.JOB.scp" --output_dir "${tmp}/logs/output.JOB" \
            "${opts[@]}" "${vocoder_opts[@]}" ${inference_args}
        # Gather the jobs' outputs; scp files name the final (not the .tmp) paths.
        for sub in norm denorm wav probs; do
            if compgen -G "${tmp}/logs/output.*/${sub}" >/dev/null; then
                mkdir -p "${tmp}/${sub}"
                for out in "${tmp}"/logs/output.*/"${sub}"; do
                    find "${out}" -maxdepth 1 -type f ! -name feats.scp -exec mv -t "${tmp}/${sub}" {} +
                done
            fi
        done
        for sub in norm denorm; do
            if [ -d "${tmp}/${sub}" ]; then
                find "${tmp}/${sub}" -name '*.npy' -printf '%f\n' | LC_ALL=C sort |
                    awk -v dir="${dir}/${sub}" '{ utt = $0; sub(/\.npy$/, "", utt); print utt, dir "/" $0 }' \
                    >"${tmp}/${sub}/feats.scp"
            fi
        done
        [ -d "${tmp}/wav" ] || die "stage 6: no wav/ in the outputs of ${tmp}/logs/output.*: the model gave no waveform (no vocoder?)"
        find "${tmp}/wav" -name '*.wav' -printf '%f\n' | LC_ALL=C sort |
            awk -v dir="${dir}/wav" '{ utt = $0; sub(/\.wav$/, "", utt); print utt, dir "/" $0 }' \
            >"${tmp}/wav.scp"
        cat "${tmp}"/logs/output.*/speech_shape/speech_shape | LC_ALL=C sort >"${tmp}/speech_shape"
        finish_dir "${dir}"
        log "  ${dir}/wav.scp: $(num_lines "${dir}/wav.scp") synthesized utterances"
    done
    stage_done
fi

# ---------------------------------------------------------------- stage 7
if runs 7; then
    stage_banner 7 "Scoring: ${decode_dir}"
    if [ -n "${asr_model_dir}" ]; then
        asr_opts=(--asr_train_config "$(realpath "${asr_model_dir}/config.yaml")"
            --asr_model_file "$(realpath "${asr_model_dir}/${asr_model_file}")")
        if [ -n "${asr_inference_config}" ]; then
            asr_opts+=(--config "$(realpath "${asr_inference_config}")")
        fi
        # transcripts of the reference audio: the same for every TTS model
        reference_asr_dir=${expdir}/reference_asr_$(basename "$(realpath "${asr_model_dir}")")_${asr_model_file%.*}
    fi
    for dset in ${test_sets}; do
        dir=${decode_dir}/${dset}
        require_file "${dir}/.done" "synthesized speech of '${dset}'; run stage 6"
        if ! is_done "${dir}/score_mcd" "MCD of ${dset}"; then
            tmp=$(fresh_tmp "${dir}/score_mcd")
            # shellcheck disable=SC2086
            run_logged "${tmp}/logs/score_tts.log" ${python} -m espnet_mamba.bin.score_tts \
                --ref_scp "${data_feats}/${dset}/wav.scp" --syn_scp "${dir}/wav.scp" \
                --output_dir "${tmp}" ${mcd_args}
            finish_dir "${dir}/score_mcd"
        fi
        tail -n 1 "${dir}/score_mcd/logs/score_tts.log" | sed 's/^/  /'
        if [ -n "${asr_model_dir}" ]; then
            log "  ASR of the synthesized speech:"
            transcribe "${dir}/wav.scp" "${data_feats}/${dset}/text" "${dir}/asr"
            sed 's/^/    /' "${dir}/asr/logs/score_asr.log"
            log "  ASR of the reference speech:"
            transcribe "${data_feats}/${dset}/wav.scp" "${data_feats}/${dset}/text" \
                "${reference_asr_dir}/${dset}"
            sed 's/^/    /' "${reference_asr_dir}/${dset}/logs/score_asr.log"
        fi
    done
    results_opts=(--note "Model: \`${tts_exp}/${inference_model}\`; vocoder: ${vocoder_file:-Griffin-Lim (${griffin_lim_iters} iterations)}")
    if [ -n "${asr_model_dir}" ]; then
        results_opts=(--note "${results_opts[1]}; ASR: \`${asr_model_dir}/${asr_model_file}\`"
            --reference_asr_dir "${reference_asr_dir}")
    fi
    write_results tts "${tts_exp}" "${results_opts[@]}"
    stage_done
fi

log "Finished stages ${stage}-${stop_stage} [${SECONDS}s]"
