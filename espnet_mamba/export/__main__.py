"""``python -m espnet_mamba.export onnx ...``: export a trained model to ONNX.

    python -m espnet_mamba.export onnx --task asr --kind streaming \\
        --train_config exp/asr_x/config.yaml --model_file exp/asr_x/valid.loss.ave.pth \\
        --output_dir exp/asr_x/onnx_streaming

``--kind streaming`` (causal ``mamba`` encoder + CTC, chunk by chunk), ``offline``
(frontend and encoder + CTC log-probabilities over padded batches) or, with
``--task enh``, the whole enhancement model.  Writes the graphs and ``config.json``
(see docs/deploy.md) and prints the largest relative difference of ONNX Runtime from
PyTorch found by the export's own check.
"""
import argparse
import json
import sys
from typing import List, Optional


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_mamba.export", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    onnx = sub.add_parser("onnx", help="export to ONNX")
    onnx.add_argument("--task", choices=("asr", "enh"), required=True)
    onnx.add_argument("--kind", choices=("streaming", "offline"), default="offline",
                      help="asr only: chunked streaming graph or offline encoder graph")
    onnx.add_argument("--train_config", required=True, help="training config.yaml")
    onnx.add_argument("--model_file", required=True, help="model weights (.pth)")
    onnx.add_argument("--output_dir", required=True, help="where the graphs are written")
    onnx.add_argument("--opset", type=int, default=18, help="ONNX opset (>= 18)")
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = get_parser().parse_args(argv)
    from espnet_mamba.export.graphs import ExportError
    from espnet_mamba.export.onnx import export_onnx

    try:
        config_path = export_onnx(args.task, args.kind, args.train_config, args.model_file,
                                  args.output_dir, args.opset)
    except ExportError as exc:
        print(f"espnet_mamba.export: error: {exc}", file=sys.stderr)
        raise SystemExit(1)
    config = json.loads(config_path.read_text(encoding="utf-8"))
    print(f"{config_path.parent}: {config['kind']} graphs {config['graph']}"
          + (f" + {config['frontend']['graph']}" if "frontend" in config else "")
          + f", opset {config['opset']}; onnxruntime vs PyTorch: largest relative "
          f"difference {config['max_rel_error']:.1e}")


if __name__ == "__main__":
    main()
