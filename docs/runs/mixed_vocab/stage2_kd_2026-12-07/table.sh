# The tables and curves of docs/results.md, "Stage II from the stage-I teacher's layers", from
# the runs in runs/mixed_vocab: linked under names that pair the twins (<init>_h96_len64), with
# NoKD pretrained 11,000 steps at 128 tokens beside them, then mixed_vocab_table.py on them.
# Usage, from the repository root: bash docs/runs/mixed_vocab/stage2_kd_2026-12-07/table.sh
set -euo pipefail
root=runs/mixed_vocab
view=runs/mixed_vocab_stage2_kd
rm -rf "$view" && mkdir -p "$view"
link() {  # run in runs/mixed_vocab, its name in the view
  [ ! -e "$root/$1" ] || ln -s "$(realpath "$root/$1")" "$view/$2"
}
for run in stage1_h96 nokd_h96_len64 nokd_h96_11k; do link "$run" "$run"; done
link stage2_kd_h96 stage2_h96_len64
for s in "" _seed1 _seed2 _seed3; do
  link "sst2_stage2_kd_h96$s" "sst2_stage2_h96_len64$s"
  link "snips_kd_words5_swap_stage2_kd_h96$s" "snips_kd_words5_swap_stage2_h96_len64$s"
  for run in sst2_nokd_h96_len64 snips_kd_words5_swap_nokd_h96_len64 sst2_nokd_h96_11k \
    snips_kd_words5_swap_nokd_h96_11k; do
    link "$run$s" "$run$s"
  done
done
python benchmarks/mixed_vocab_table.py "$view" --no-latency \
  --png docs/mixed_vocab_stage2_kd_curves.png
