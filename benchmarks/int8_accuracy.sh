#!/usr/bin/env bash
# The int8-export accuracy tables of docs/results.md ("Accuracy of the int8 export on real
# data"): one `tfcompress export RUN --mode int8 --verify-examples 0` per row, on every dev/test
# example, each report kept as runs/int8_accuracy/<row>.json; then the tables
# (benchmarks/int8_accuracy_table.py). Needs the Pea-KD SPS-2 students
# (bash benchmarks/peakd_ablation.sh sst2 mrpc) and the SNIPS teacher
# (tfcompress finetune --config configs/teacher_snips_minilm.yaml).
# Usage, from the repository root: bash benchmarks/int8_accuracy.sh [sst2] [mrpc] [snips]
#   (~3 min per export on one core with 512 calibration examples; rows already done are kept)
set -euo pipefail
out=runs/int8_accuracy
mkdir -p "$out"
row() {  # name, run dir, export flags... (--mode int8 unless the flags name another)
  local name=$1 run=$2; shift 2
  [ -f "$out/$name.json" ] && return 0
  tfcompress export "$run" --mode int8 --verify-examples 0 --no-timing --min-agreement 0 \
    --output "$out/$name.tflite" "$@" > "$out/$name.log" 2>&1 || echo "FAILED: $name"
  rm -f "$out/$name.tflite"  # the report is the record; the model is rebuilt by the command
}
datasets=("$@")
[ ${#datasets[@]} -eq 0 ] && datasets=(sst2 mrpc snips)
for ds in "${datasets[@]}"; do
  case $ds in
    sst2|mrpc)
      run=runs/peakd/${ds}_sps2
      row "${ds}_noeq_q1_512" "$run" --calibration-examples 512 --no-equalize --range-quantile 1
      row "${ds}_q1_512" "$run" --calibration-examples 512 --range-quantile 1
      row "${ds}_default_128" "$run" --calibration-examples 128
      row "${ds}_default_512" "$run" --calibration-examples 512
      row "${ds}_q0.9_128" "$run" --calibration-examples 128 --range-quantile 0.9
      row "${ds}_q0.9_512" "$run" --calibration-examples 512 --range-quantile 0.9
      [ "$ds" = mrpc ] && row "${ds}_default_1024" "$run" --calibration-examples 1024
      [ "$ds" = sst2 ] && row "${ds}_float" "$run" --mode float
      ;;
    snips)
      run=runs/teacher_snips_minilm
      row snips_noeq_q1_512 "$run" --calibration-examples 512 --no-equalize --range-quantile 1
      row snips_default_512 "$run" --calibration-examples 512
      ;;
    *) echo "unknown dataset: $ds (sst2, mrpc, snips)" >&2; exit 2 ;;
  esac
done
python "$(dirname "$0")/int8_accuracy_table.py" "$out"
