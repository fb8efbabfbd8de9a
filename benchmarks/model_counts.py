"""Parameter and multiply-add counts behind docs/results.md, computed from the models themselves.

Parameters: each model is built the way its run builds it (the teacher checkpoint with the
run's sequence length, which keeps that many rows of the position table; students from the
Pea-KD recipes' `student:` sections; the random-weight latency model of
benchmarks/latency_vs_peers.py) and counted with `count_params()`.
Multiply-adds: the latency model's encoder per sequence length, split into weight matmuls
(FULLY_CONNECTED in the export) and attention matmuls (QKᵀ and PV), from its dims.
benchmarks/op_profile_random.py recounts them from the exported graph's op shapes.

Usage (repository root, ../shared beside it; ~1 min on 2 cores, no training, no data read
except SNIPS's label names):
  python benchmarks/model_counts.py --out docs/runs/model_counts/metrics.json
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).resolve().parent))

CHECKPOINT = "../shared/teachers/all-minilm-l6-v2"
TEACHERS = {  # run → (config, sequence length) as in configs/teacher_*.yaml
    "teacher_sst2_minilm": ("configs/teacher_sst2_minilm.yaml", 64),
    "teacher_mrpc_minilm": ("configs/teacher_mrpc_minilm.yaml", 80),
    "teacher_snips_minilm": ("configs/teacher_snips_minilm.yaml", 48),
}
STUDENTS = (
    "configs/peakd/sst2_kd.yaml",
    "configs/peakd/sst2_sps1.yaml",
    "configs/peakd/sst2_sps2.yaml",
)


def encoder_parts(encoder):
    """Parameters of the encoder by part: embeddings (by table), blocks, pooler."""
    parts = {}
    for weight in encoder.weights:
        path = weight.path
        if "embeddings" in path:
            key = "embeddings/" + path.rsplit("/", 1)[-1]
        elif "pooler" in path:
            key = "pooler"
        else:
            key = "blocks"
        parts[key] = parts.get(key, 0) + int(weight.numpy().size)
    return parts


def teacher_counts(checkpoint):
    from tfcompress.models import build_classifier, load_hf_encoder
    from tfcompress.tasks import TaskRuntime
    from tfcompress.training.finetune_config import load_finetune_config

    out = {}
    full = load_hf_encoder(checkpoint)  # all 512 positions, as the checkpoint stores them
    out["checkpoint_encoder_512_positions"] = int(full.count_params())
    for run, (config_path, seq) in TEACHERS.items():
        encoder = load_hf_encoder(checkpoint, max_length=seq)
        if run == "teacher_snips_minilm":
            runtime = TaskRuntime.from_recipe(load_finetune_config(config_path))
            model = runtime.build_model(encoder)
            model(runtime.inputs(runtime.eval.subset(1, seed=0))[0])
            head = {
                "intents": len(runtime.labels["intents"]),
                "slot_tags": len(runtime.labels["tags"]),
            }
        else:
            model = build_classifier(encoder, 2, sequence_length=seq)
            head = {"classes": 2}
        out[run] = {
            "config": config_path,
            "sequence_length": seq,
            "head": head,
            "parameters": int(model.count_params()),
            "encoder_parameters": int(encoder.count_params()),
            "encoder_parts": encoder_parts(encoder),
        }
    return out


def student_counts(checkpoint):
    from tfcompress.distill.distill_run_config import load_distill_config
    from tfcompress.distill.run_distill import student_encoder_config
    from tfcompress.models import Encoder, build_classifier, load_hf_encoder

    teacher_config = load_hf_encoder(checkpoint, max_length=64).config
    out = {}
    for path in STUDENTS:
        student = load_distill_config(path).student
        encoder = Encoder(student_encoder_config(student, teacher_config), name="encoder")
        model = build_classifier(encoder, 2, sequence_length=64)
        out[Path(path).stem] = {
            "config": path,
            "layers_run": encoder.config.num_executed_layers,
            "parameters": int(model.count_params()),
        }
    return out


def latency_model_counts():
    from latency_vs_peers import DIMS, encoder_macs, our_model

    d = DIMS
    macs = {}
    for seq in (128, 32):
        fc = d["layers"] * seq * (4 * d["hidden"] ** 2 + 2 * d["hidden"] * d["ffn"])
        attention = d["layers"] * 2 * seq**2 * d["hidden"]
        total = encoder_macs(seq)
        assert total == fc + attention
        macs[str(seq)] = {
            "total": total,
            "fully_connected": fc,
            "attention_matmuls": attention,
            "fully_connected_share": round(fc / total, 4),
            "pooler_and_head_macs_cls_only": d["hidden"] ** 2 + 2 * d["hidden"],
        }
    return {"dims": d, "parameters": int(our_model(128).count_params()), "macs": macs}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=CHECKPOINT)
    parser.add_argument("--out", help="write the JSON here as well as to stdout")
    args = parser.parse_args()
    import keras

    keras.utils.set_random_seed(0)
    result = {
        "teachers": teacher_counts(args.checkpoint),
        "students": student_counts(args.checkpoint),
        "latency_model": latency_model_counts(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        from tfcompress.atomic_write import write_text_atomic

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.out, text + "\n")


if __name__ == "__main__":
    main()
