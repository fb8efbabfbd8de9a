#!/usr/bin/env bash
# The KDLSQ tables behind docs/results.md: for each dataset, each "scheme:method[:init]" job
# quantizes the MiniLM teacher run (configs/kdlsq/<dataset>.yaml), exports it (--mode qat,
# every dev example verified) and keeps the run record; a finished run is skipped.
# Usage, from the repository root (the teacher runs must exist, see configs/teacher_*.yaml):
#   bash benchmarks/kdlsq_study.sh mrpc 8-8-8:lsq_kd_gt 2-2-8:lsq 2-2-8:lsq_kd_gt:constant
# SOURCE=RUN quantizes another finished run of the dataset instead of the teacher (for example
# an SPS student, SOURCE=runs/peakd/mrpc_sps2); its run names get the source's name.
# SEED=N (default 0) trains with another seed; its run names end in _seedN.
# RUNS_ROOT=DIR (default runs/kdlsq) puts the runs in another folder, e.g. for a table of its own.
# SETS="KEY=VALUE ..." passes more --set overrides to every quantize run (an earlier recipe:
# SETS="data.train_subset=4000 training.steps_per_epoch=25" for SST-2 before 2026-12-06).
# Then: python benchmarks/kdlsq_table.py runs/kdlsq --records docs/runs/kdlsq > runs/logs/kdlsq_table.md
set -euo pipefail
dataset=$1; shift
source_args=()
set_args=()
for pair in ${SETS:-}; do set_args+=(--set "$pair"); done
seed=${SEED:-0}
prefix=$dataset
if [ -n "${SOURCE:-}" ]; then
  source_args=(--set "source=${SOURCE}")
  prefix="${dataset}_$(basename "$SOURCE" | sed "s/^${dataset}_//")"
fi
mkdir -p runs/logs
for job in "$@"; do
  IFS=: read -r scheme method init <<< "$job"
  init=${init:-algorithm1}
  name="${prefix}_${scheme}_${method}$([ "$init" = algorithm1 ] || echo "_$init")"
  [ "$seed" = 0 ] || name="${name}_seed${seed}"
  dir="${RUNS_ROOT:-runs/kdlsq}/${name}"
  if [ ! -f "${dir}/metrics.json" ]; then
    tfcompress quantize --config "configs/kdlsq/${dataset}.yaml" --output-dir "$dir" \
      "${source_args[@]}" "${set_args[@]}" --set "quantization.scheme=${scheme}" --set "method=${method}" \
      --set "quantization.init=${init}" --set "seed=${seed}" > "runs/logs/kdlsq_${name}.log" 2>&1 \
      || { echo "FAILED: $name"; continue; }
  fi
  if [ ! -f "${dir}/export/qat.json" ]; then
    tfcompress export "$dir" --mode qat --verify-examples 0 \
      > "runs/logs/kdlsq_${name}_export.log" 2>&1 || echo "EXPORT FAILED: $name"
  fi
done
