# The tables of docs/results.md, "Stage II from the stage-I teacher's layers: NoKD given the
# same time, three SNIPS seeds, labels-only SNIPS", from the runs in runs/mixed_vocab: linked
# under names that pair the twins (<init>_h96_len64), NoKD pretrained 9,800 steps at 64 tokens
# beside them, then mixed_vocab_table.py on them.
# Usage, from the repository root: bash docs/runs/mixed_vocab/stage2_kd_2026-12-08/table.sh
set -euo pipefail
root=runs/mixed_vocab
view=runs/mixed_vocab_stage2_kd_0812
rm -rf "$view" && mkdir -p "$view"
link() {  # run in runs/mixed_vocab, its name in the view
  [ ! -e "$root/$1" ] || ln -s "$(realpath "$root/$1")" "$view/$2"
}
for init in nokd_h96_len64 nokd_h96_len64_9800; do link "$init" "$init"; done
link stage1_h96 stage1_h96
link stage2_kd_h96 stage2_h96_len64
for s in "" _seed1 _seed2 _seed3; do
  for task in sst2 snips_kd_words5_swap snips_long; do
    link "${task}_stage2_kd_h96$s" "${task}_stage2_h96_len64$s"
    for init in nokd_h96_len64 nokd_h96_len64_9800; do link "${task}_$init$s" "${task}_$init$s"; done
  done
done
python benchmarks/mixed_vocab_table.py "$view" --no-latency --png docs/mixed_vocab_stage2_kd_9800_curves.png
