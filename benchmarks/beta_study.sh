#!/usr/bin/env bash
# The patient-weight (β) check behind docs/results.md ("The measured β sensitivity"): the SST-2
# KD baseline recipe (configs/peakd/sst2_kd.yaml) on 1,024 training examples for 2 epochs,
# scored on 300 dev examples (seeded random subset), at β = distillation.hidden ∈ {100, 10, 1, 0}
# with lr 5e-4, and the recipe before commit 67fe39a (β = 100, lr 5e-5).
# The original check (session of commit 67fe39a) left no script or run directories; this is
# that check written down with the same settings, so its numbers are to be regenerated with it.
# Needs runs/teacher_sst2_minilm (tfcompress finetune --config configs/teacher_sst2_minilm.yaml).
# Usage, from the repository root: bash benchmarks/beta_study.sh   (~2 min per run on 2 cores)
set -euo pipefail
mkdir -p runs/logs
common=(--set data.train_subset=1024 --set data.eval_subset=300 --set training.epochs=2)
run() {  # name, extra overrides...
  local name=$1; shift
  [ -f "runs/beta/${name}/metrics.json" ] && return 0
  tfcompress distill --config configs/peakd/sst2_kd.yaml --output-dir "runs/beta/${name}" \
    "${common[@]}" "$@" > "runs/logs/beta_${name}.log" 2>&1 || echo "FAILED: $name"
}
for beta in 100 10 1 0; do
  run "beta${beta}_lr5e-4" --set distillation.hidden=${beta} --set training.learning_rate=5.0e-4
done
run "beta100_lr5e-5" --set distillation.hidden=100 --set training.learning_rate=5.0e-5
python - <<'PY'
import json
from pathlib import Path

import yaml

print("| run | β | lr | dev accuracy (300) |")
print("|---|---:|---:|---:|")
for path in sorted(Path("runs/beta").glob("*/metrics.json")):
    m = json.loads(path.read_text())
    c = yaml.safe_load((path.parent / "config.yaml").read_text())
    print(f"| {path.parent.name} | {c['distillation']['hidden']:g} | {c['training']['learning_rate']:g} "
          f"| {100 * m['eval']['accuracy']:.1f} |")
PY
