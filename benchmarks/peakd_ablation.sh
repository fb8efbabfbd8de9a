#!/usr/bin/env bash
# The Pea-KD ablation behind docs/results.md: teachers (if missing), then every student
# recipe in configs/peakd/ for the given datasets, one after another, logs in runs/logs/.
# Usage, from the repository root (configs read ../shared): bash benchmarks/peakd_ablation.sh [sst2] [mrpc]
set -euo pipefail
mkdir -p runs/logs
datasets=("$@")
[ ${#datasets[@]} -eq 0 ] && datasets=(sst2 mrpc)
for ds in "${datasets[@]}"; do
  if [ ! -f "runs/teacher_${ds}_minilm/metrics.json" ]; then
    tfcompress finetune --config "configs/teacher_${ds}_minilm.yaml" > "runs/logs/teacher_${ds}.log" 2>&1
  fi
  for variant in kd sps2 sps2_ptp sps1 ptp1 ptp2; do
    cfg="configs/peakd/${ds}_${variant}.yaml"
    name="${ds}_${variant}"
    [ -f "runs/peakd/${name}/metrics.json" ] && continue
    tfcompress distill --config "$cfg" > "runs/logs/${name}.log" 2>&1 || echo "FAILED: $name"
  done
done
python "$(dirname "$0")/peakd_table.py" runs/peakd > runs/logs/peakd_table.md
