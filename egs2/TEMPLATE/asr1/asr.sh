#!/usr/bin/env bash
# espnet-mamba's ASR recipe stages: a compact counterpart of ESPnet's
# egs2/TEMPLATE/asr1/asr.sh that needs no Kaldi tools.  Option names are ESPnet's where
# they exist; the stages are renumbered:
#
#   1  data preparation   local/data.sh ${local_data_opts} -> data/<set>/{wav.scp,text,utt2spk,spk2utt}
#   2  format audio       mono 16-bit audio at --fs in ${dumpdir}/raw/<set> (+ speed perturbation)
#   3  token list         char, or a sentencepiece model (--token_type bpe)
#   4  collect stats      espnet2.bin.asr_train --collect_stats true (shapes, feature mean/var)
#   5  LM training        espnet2.bin.lm_train (only with --use_lm true)
#   6  ASR training       espnet2.bin.asr_train
#   7  decoding           espnet2.bin.asr_inference on every --test_sets set
#   8  scoring            WER/CER, sclite-like alignments, ${asr_exp}/RESULTS.md
#
# Run it from a recipe dir (the one with local/data.sh and conf/), usually via run.sh:
#   ./asr.sh --train_set train --valid_set dev --test_sets "test" \
#       --token_type char --asr_config conf/train_asr.yaml --inference_config conf/decode_asr.yaml
#
# Re-running is safe: each finished step of stages 2-7 leaves a `.done` marker in its
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
inference_nj=4               # parallel jobs for decoding
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
test_sets=""                 # sets to decode and score, space-separated
fs=16k                       # sampling rate of the formatted audio
audio_format=flac            # flac or wav
resample=true                # false: audio at another rate than --fs is an error
speed_perturb_factors=""     # e.g. "0.9 1.0 1.1": speed perturbation of the training set
min_wav_duration=0.1         # shorter training/validation utterances are dropped (seconds)
max_wav_duration=20          # longer training/validation utterances are dropped (seconds)
# -- tokens
lang=noinfo                  # language tag used in dir names
token_type=bpe               # bpe or char
nbpe=30                      # sentencepiece vocabulary size
bpemode=unigram              # sentencepiece model type: unigram or bpe
bpe_input_sentence_size=100000000  # sentences sampled to train sentencepiece
bpe_char_cover=1.0           # sentencepiece character coverage
bpe_train_text=""            # default: data/${train_set}/text
blank="<blank>"              # CTC blank symbol
oov="<unk>"                  # unknown-token symbol
sos_eos="<sos/eos>"          # start/end-of-sentence symbol
# -- language model
use_lm=false                 # train an LM (stage 5) and decode with it
lm_config=""                 # LM training config
lm_tag=""                    # LM experiment name suffix (default from the config name)
lm_exp=""                    # LM experiment dir (default ${expdir}/lm_${lm_tag})
lm_args=""                   # extra options of espnet2.bin.lm_train
lm_train_text=""             # default: data/${train_set}/text
lm_dev_text=""               # default: ${dumpdir}/raw/${valid_set}/text
lm_stats_dir=""              # LM stats dir (default ${expdir}/lm_stats_char or _bpe<nbpe>)
lm_fold_length=150           # length folding of LM batches (tokens)
# -- ASR model
asr_config=""                # ASR training config
asr_tag=""                   # ASR experiment name suffix (default from the config name)
asr_exp=""                   # ASR experiment dir (default ${expdir}/asr_${asr_tag})
asr_stats_dir=""             # stats dir (default ${expdir}/asr_stats_raw_...)
asr_args=""                  # extra options of espnet2.bin.asr_train
feats_normalize=global_mvn   # global_mvn (stage-4 stats), utterance_mvn or none (config's)
asr_speech_fold_length=800   # length folding of speech batches (x100 samples)
asr_text_fold_length=150     # length folding of text batches (tokens)
# -- decoding
inference_config=""          # decoding config (beam_size, ctc_weight, lm_weight, ...)
inference_tag=""             # decoding dir name (default from the config and model names)
inference_args=""            # extra options of espnet2.bin.asr_inference
inference_asr_model=valid.acc.ave.pth  # model file in ${asr_exp} to decode with
inference_lm=valid.loss.ave.pth        # LM file in ${lm_exp} to decode with
results_note=""              # a paragraph under the title of RESULTS.md (what the numbers mean)
score_by_speaker=false       # also score each speaker (voice) of a test set apart: <dir>/by_speaker.json
# End of options

# log, die and the stage helpers (shared with the other templates)
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/stages.sh"

parse_options "$@"

# ---------------------------------------------------------------- checks
require_integers 0 stage stop_stage ngpu
require_integers 1 nj inference_nj num_nodes nbpe
require_booleans use_lm gpu_inference resample score_by_speaker
require_rates fs
require_choice token_type bpe char
require_choice feats_normalize global_mvn utterance_mvn none
require_choice audio_format flac wav
require_given train_set valid_set test_sets
# The ASR config is read by stages 4 and 6 and names the experiment dir of stages 7-8.
if runs 4 || runs 6 || { [ -z "${asr_exp}" ] && { runs 7 || runs 8; }; }; then
    [ -n "${asr_config}" ] || die "--asr_config is required for stages 4-8"
    [ -f "${asr_config}" ] || die "ASR config not found: ${asr_config}"
fi
if "${use_lm}" && [ "${stop_stage}" -ge 5 ]; then
    [ -f "${lm_config}" ] || die "--use_lm true needs --lm_config; LM config not found: '${lm_config}'"
fi
if [ -n "${inference_config}" ] && [ "${stop_stage}" -ge 7 ]; then
    [ -f "${inference_config}" ] || die "decoding config not found: ${inference_config}"
fi

# ---------------------------------------------------------------- derived names
# Dir names follow ESPnet's: e.g. exp/asr_<config>_raw_en_bpe5000_sp, exp/asr_stats_raw_en_bpe5000_sp.
data_feats=${dumpdir}/raw
lang_part=""                                  # "_<lang>" unless --lang noinfo
if [ "${lang}" != noinfo ]; then lang_part=_${lang}; fi
sp_part=""                                    # "_sp" with speed perturbation
if [ -n "${speed_perturb_factors}" ]; then sp_part=_sp; fi
train_dump=${train_set}${sp_part}             # the formatted training set
token_listdir=data/${lang}_token_list
if [ "${token_type}" = bpe ]; then
    token_part=bpe${nbpe}
    token_dir=${token_listdir}/bpe_${bpemode}${nbpe}
    bpemodel=${token_dir}/bpe.model
else
    token_part=char
    token_dir=${token_listdir}/char
    bpemodel=none
fi
token_list=${token_dir}/tokens.txt
bpe_train_text=${bpe_train_text:-data/${train_set}/text}
lm_train_text=${lm_train_text:-data/${train_set}/text}
lm_dev_text=${lm_dev_text:-${data_feats}/${valid_set}/text}
if [ -z "${asr_tag}" ]; then
    asr_tag="$(basename "${asr_config:-train}" .yaml)_raw${lang_part}_${token_part}${sp_part}"
fi
asr_exp=${asr_exp:-${expdir}/asr_${asr_tag}}
asr_stats_dir=${asr_stats_dir:-${expdir}/asr_stats_raw${lang_part}_${token_part}${sp_part}}
lm_tag=${lm_tag:-$(basename "${lm_config:-train_lm}" .yaml)${lang_part}_${token_part}}
lm_exp=${lm_exp:-${expdir}/lm_${lm_tag}}
lm_stats_dir=${lm_stats_dir:-${expdir}/lm_stats${lang_part}_${token_part}}
lm_texts="train ${lm_train_text} valid ${lm_dev_text}"  # recorded in the LM's dirs
if [ -z "${inference_tag}" ]; then
    inference_tag=$(basename "${inference_config:-decode}" .yaml)
    if "${use_lm}"; then
        inference_tag+="_lm_$(basename "${lm_exp}")_${inference_lm%.*}"
    fi
    inference_tag+="_asr_model_${inference_asr_model%.*}"
    inference_tag=${inference_tag//\//_}
fi

check_python
log "${command_line}"
log "ASR experiment: ${asr_exp}"
lock_experiment "${asr_exp}"
# the LM dir only while this run may train it: decoding only reads it, so several ASR
# models can decode with one LM at the same time
if "${use_lm}" && runs 5; then lock_experiment "${lm_exp}"; fi

# ---------------------------------------------------------------- stage 1
if runs 1; then
    stage_data_prep
fi

# ---------------------------------------------------------------- stage 2
if runs 2; then
    stage_banner 2 "Format audio (${fs}, ${audio_format}): data/ -> ${data_feats}/"
    for dset in "${train_set}" "${valid_set}" ${test_sets}; do
        format_opts "${dset}"
        out=${data_feats}/${dset}
        if [ "${dset}" = "${train_set}" ] || [ "${dset}" = "${valid_set}" ]; then
            opts+=(--drop_empty_text)
        fi
        if [ "${dset}" = "${train_set}" ] && [ -n "${speed_perturb_factors}" ]; then
            out=${data_feats}/${train_dump}
            # shellcheck disable=SC2206  # the factors are separate words
            opts+=(--speed_perturb_factors ${speed_perturb_factors})
        fi
        format_set "${dset}" "${out}" "${opts[@]}"
    done
    stage_done
fi

# ---------------------------------------------------------------- stage 3
if runs 3; then
    stage_banner 3 "Token list (${token_type}): ${token_list}"
    if ! is_done "${token_dir}" "token list ${token_list}"; then
        require_file "${bpe_train_text}" "transcripts for the token list; run stage 1"
        tmp=$(fresh_tmp "${token_dir}")
        if [ "${token_type}" = bpe ]; then
            # sentencepiece learns from the transcripts without their utterance ids
            awk '{ $1 = ""; sub(/^ /, ""); print }' "${bpe_train_text}" >"${tmp}/train.txt"
            run_logged "${tmp}/logs/train_spm.log" ${python} -m espnet_mamba.bin.train_spm \
                --input "${tmp}/train.txt" --model_prefix "${tmp}/bpe" --vocab_size "${nbpe}" \
                --model_type "${bpemode}" --character_coverage "${bpe_char_cover}" \
                --input_sentence_size "${bpe_input_sentence_size}"
            # ESPnet's layout: blank, oov, the pieces (less <unk>, <s>, </s>), sos/eos
            {
                echo "${blank}"
                echo "${oov}"
                awk 'NR > 3 { print $1 }' "${tmp}/bpe.vocab"
                echo "${sos_eos}"
            } >"${tmp}/tokens.txt"
        else
            run_logged "${tmp}/logs/tokenize_text.log" ${python} -m espnet2.bin.tokenize_text \
                --token_type char --input "${bpe_train_text}" --output "${tmp}/tokens.txt" \
                --field 2- --write_vocabulary true --add_symbol "${blank}:0" \
                --add_symbol "${oov}:1" --add_symbol "${sos_eos}:-1"
        fi
        finish_dir "${token_dir}"
        log "  ${token_list}: $(num_lines "${token_list}") tokens"
    fi
    stage_done
fi

# Options of espnet2.bin.{asr,lm}_train that describe the text side.
text_opts=(--use_preprocessor true --token_type "${token_type}" --token_list "${token_list}"
    --bpemodel "${bpemodel}")

# ---------------------------------------------------------------- stage 4
if runs 4; then
    stage_banner 4 "Collect stats: ${asr_stats_dir}"
    if ! is_done "${asr_stats_dir}" "stats ${asr_stats_dir}"; then
        require_file "${token_list}" "run stage 3"
        for dset in "${train_dump}" "${valid_set}"; do
            require_file "${data_feats}/${dset}/.done" "formatted set '${dset}'; run stage 2"
        done
        tmp=$(fresh_tmp "${asr_stats_dir}")
        # shellcheck disable=SC2086  # asr_args holds several words
        collect_stats "${tmp}" "${data_feats}/${train_dump}" "${data_feats}/${valid_set}" asr_train \
            "${text_opts[@]}" \
            --train_data_path_and_name_and_type "${data_feats}/${train_dump}/wav.scp,speech,sound" \
            --train_data_path_and_name_and_type "${data_feats}/${train_dump}/text,text,text" \
            --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/text,text,text" \
            --config "${asr_config}" --frontend_conf fs="${fs}" ${asr_args}
        add_vocab_size "${tmp}"
        finish_dir "${asr_stats_dir}"
    fi
    stage_done
fi

# ---------------------------------------------------------------- stage 5
if runs 5 && ! "${use_lm}"; then
    log "==== Stage 5 (LM training) skipped: --use_lm false"
fi
if runs 5 && "${use_lm}"; then
    stage_banner 5 "LM training: ${lm_exp}"
    require_file "${token_list}" "run stage 3"
    lm_data_opts=(--train_data_path_and_name_and_type "${lm_train_text},text,text"
        --valid_data_path_and_name_and_type "${lm_dev_text},text,text")
    # An LM dir of other texts (finished, or a training to resume) is not reused for
    # these: its name does not say which texts made it.
    for dir in "${lm_stats_dir}" "${lm_exp}"; do
        recorded=$(cat "${dir}/texts" 2>/dev/null || true)
        if { [ -f "${dir}/.done" ] || [ -n "${recorded}" ]; } && [ "${recorded}" != "${lm_texts}" ]; then
            die "${dir} was made from other texts (${recorded:-not recorded}), not" \
                "'${lm_texts}': give --lm_stats_dir and --lm_tag, or remove it"
        fi
    done
    if ! is_done "${lm_stats_dir}" "LM stats ${lm_stats_dir}"; then
        require_file "${lm_train_text}" "LM training text"
        require_file "${lm_dev_text}" "LM validation text; run stage 2"
        tmp=$(fresh_tmp "${lm_stats_dir}")
        # shellcheck disable=SC2086
        run_logged "${tmp}/logs/stats.log" ${python} -m espnet2.bin.lm_train \
            --collect_stats true "${text_opts[@]}" "${lm_data_opts[@]}" \
            --train_shape_file "${lm_train_text}" --valid_shape_file "${lm_dev_text}" \
            --output_dir "${tmp}" --config "${lm_config}" ${lm_args}
        add_vocab_size "${tmp}"
        echo "${lm_texts}" >"${tmp}/texts"
        finish_dir "${lm_stats_dir}"
    fi
    if ! is_done "${lm_exp}" "LM training ${lm_exp}"; then
        check_checkpoint "${lm_exp}" "./run.sh --stage 5 --lm_args"
        mkdir -p "${lm_exp}" && echo "${lm_texts}" >"${lm_exp}/texts"
        # shellcheck disable=SC2086
        run_training "${lm_exp}/train.log" ${python} -m espnet2.bin.lm_train \
            --ngpu "${ngpu}" "${text_opts[@]}" "${lm_data_opts[@]}" \
            --train_shape_file "${lm_stats_dir}/train/text_shape.${token_type}" \
            --valid_shape_file "${lm_stats_dir}/valid/text_shape.${token_type}" \
            --fold_length "${lm_fold_length}" --resume true --output_dir "${lm_exp}" \
            --config "${lm_config}" ${lm_args}
        touch "${lm_exp}/.done"
    fi
    stage_done
fi

# ---------------------------------------------------------------- stage 6
if runs 6; then
    stage_banner 6 "ASR training: ${asr_exp}"
    if ! is_done "${asr_exp}" "ASR training ${asr_exp}"; then
        check_checkpoint "${asr_exp}" "./run.sh --stage 6 --asr_args"
        require_file "${asr_stats_dir}/.done" "run stage 4"
        opts=()
        case "${feats_normalize}" in
            global_mvn) opts+=(--normalize global_mvn
                --normalize_conf "stats_file=${asr_stats_dir}/train/feats_stats.npz") ;;
            utterance_mvn) opts+=(--normalize utterance_mvn) ;;
        esac
        distributed_training "${asr_exp}"  # sets dist_args and dist_prefix
        log "  follow the training with: tail -f ${asr_exp}/train.log"
        # shellcheck disable=SC2086
        run_training "${asr_exp}/train.log" "${dist_prefix[@]}" ${python} -m espnet2.bin.asr_train \
            --ngpu "${ngpu}" "${dist_args[@]}" "${text_opts[@]}" \
            --train_data_path_and_name_and_type "${data_feats}/${train_dump}/wav.scp,speech,sound" \
            --train_data_path_and_name_and_type "${data_feats}/${train_dump}/text,text,text" \
            --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/text,text,text" \
            --train_shape_file "${asr_stats_dir}/train/speech_shape" \
            --train_shape_file "${asr_stats_dir}/train/text_shape.${token_type}" \
            --valid_shape_file "${asr_stats_dir}/valid/speech_shape" \
            --valid_shape_file "${asr_stats_dir}/valid/text_shape.${token_type}" \
            --fold_length "$((asr_speech_fold_length * 100))" \
            --fold_length "${asr_text_fold_length}" \
            --resume true --output_dir "${asr_exp}" --config "${asr_config}" \
            --frontend_conf fs="${fs}" "${opts[@]}" ${asr_args}
        touch "${asr_exp}/.done"
    fi
    stage_done
fi

# ---------------------------------------------------------------- stage 7
if runs 7; then
    stage_banner 7 "Decoding: ${asr_exp}/${inference_tag}"
    require_file "${asr_exp}/${inference_asr_model}" \
        "the model to decode with: finish stage 6 or choose another --inference_asr_model"
    opts=(--asr_train_config "${asr_exp}/config.yaml"
        --asr_model_file "${asr_exp}/${inference_asr_model}")
    if [ -n "${inference_config}" ]; then opts+=(--config "${inference_config}"); fi
    if "${use_lm}"; then
        require_file "${lm_exp}/${inference_lm}" "the LM to decode with: run stage 5"
        opts+=(--lm_train_config "${lm_exp}/config.yaml" --lm_file "${lm_exp}/${inference_lm}")
    fi
    _ngpu=$("${gpu_inference}" && echo 1 || echo 0)
    for dset in ${test_sets}; do
        dir=${asr_exp}/${inference_tag}/${dset}
        is_done "${dir}" "decoding ${dir}" && continue
        require_file "${data_feats}/${dset}/.done" "formatted set '${dset}'; run stage 2"
        tmp=$(fresh_tmp "${dir}")
        _nj=$(min "${inference_nj}" "$(num_lines "${data_feats}/${dset}/wav.scp")")
        split_keys "${data_feats}/${dset}/wav.scp" "${_nj}" "${tmp}/logs/keys"
        # shellcheck disable=SC2086
        run_jobs "${_nj}" "${tmp}/logs/asr_inference.JOB.log" \
            ${python} -m espnet2.bin.asr_inference --batch_size 1 --ngpu "${_ngpu}" \
            --data_path_and_name_and_type "${data_feats}/${dset}/wav.scp,speech,sound" \
            --key_file "${tmp}/logs/keys.JOB.scp" --output_dir "${tmp}/logs/output.JOB" \
            "${opts[@]}" ${inference_args}
        for f in token token_int score text; do
            cat "${tmp}"/logs/output.*/1best_recog/"${f}" | LC_ALL=C sort -k1,1 >"${tmp}/${f}"
        done
        finish_dir "${dir}"
        log "  hypotheses: ${dir}/text"
    done
    stage_done
fi

# ---------------------------------------------------------------- stage 8
if runs 8; then
    stage_banner 8 "Scoring: ${asr_exp}/${inference_tag}"
    for dset in ${test_sets}; do
        dir=${asr_exp}/${inference_tag}/${dset}
        require_file "${dir}/.done" "decoding results of '${dset}'; run stage 7"
        by_speaker=()
        if "${score_by_speaker}"; then
            by_speaker=(--utt2spk "${data_feats}/${dset}/utt2spk")
            # a set scored before without it is scored again
            [ -f "${dir}/by_speaker.json" ] || rm -f "${dir}/score_wer/.done"
        fi
        if ! is_done "${dir}/score_wer" "scoring ${dir}"; then
            rm -f "${dir}/score_cer/.done"
            run_logged "${dir}/logs/score_asr.log" ${python} -m espnet_mamba.bin.score_asr \
                --ref "${data_feats}/${dset}/text" --hyp "${dir}/text" --output_dir "${dir}" \
                "${by_speaker[@]}"
            touch "${dir}/score_cer/.done" "${dir}/score_wer/.done"
        fi
        sed 's/^/  /' "${dir}/logs/score_asr.log"
        log "  alignments: ${dir}/score_wer/result.txt ${dir}/score_cer/result.txt"
    done
    write_results asr "${asr_exp}" --note "${results_note}"
    # one example: the first utterance of the first test set, reference beside hypothesis
    dset=${test_sets%% *}
    utt=$(awk 'NR == 1 { print $1 }' "${asr_exp}/${inference_tag}/${dset}/text")
    transcript() { awk -v u="${utt}" '$1 == u { $1 = ""; sub(/^ /, ""); print; exit }' "$1"; }
    log "  example (${dset}, ${utt}):"
    log "    REF: $(transcript "${data_feats}/${dset}/text")"
    log "    HYP: $(transcript "${asr_exp}/${inference_tag}/${dset}/text")"
    stage_done
fi

log "Finished stages ${stage}-${stop_stage} [${SECONDS}s]"
