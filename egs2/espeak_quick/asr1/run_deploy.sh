#!/usr/bin/env bash
# Deployment check: train the espeak_en streaming model (causal mamba + CTC) in the main
# job's recipe, export it to ONNX, stream an unseen held-out-voice utterance through ONNX
# Runtime and through PyTorch, and pack the model with a Hugging Face model card.
#
#   ./run_deploy.sh [asr.sh options]        (about 8 minutes on 2 cores; docs/deploy.md)
set -euo pipefail

exp=exp/asr_train_asr_mamba_streaming_raw_char
./run.sh --asr_config ../../espeak_en/asr1/conf/train_asr_mamba_streaming.yaml \
    --results_note "Causal (streaming) Mamba, d_model 128, 12 layers, CTC on characters, trained on 1500 synthetic sentences by 8 espeak-ng voices; every test sentence is unseen in training; test_heldout is spoken by 2 voices never heard in training." \
    "$@"

python3 -m espnet_mamba.export onnx --task asr --kind streaming \
    --train_config "${exp}/config.yaml" --model_file "${exp}/valid.loss.ave.pth" \
    --output_dir "${exp}/onnx_streaming"
read -r utt wav < <(head -1 dump/raw/test_heldout/wav.scp)
echo "${utt} (a held-out voice), reference: $(grep "^${utt} " dump/raw/test_heldout/text | cut -d' ' -f2-)"
echo "== ONNX Runtime (no torch)"
python3 -m espnet_mamba.bin.stream_asr --onnx_dir "${exp}/onnx_streaming" --wav "${wav}"
echo "== PyTorch"
python3 -m espnet_mamba.bin.stream_asr --asr_train_config "${exp}/config.yaml" \
    --asr_model_file "${exp}/valid.loss.ave.pth" --wav "${wav}"
python3 -m espnet_mamba.bin.pack_model asr --train_config "${exp}/config.yaml" \
    --model_file "${exp}/valid.loss.ave.pth" --outpath "${exp}/asr_mamba_streaming.zip" \
    --hf_dir "${exp}/hf_repo"
