#!/usr/bin/env bash
# The mixed-vocabulary tables behind docs/results.md, for each hidden size given (96, 192,
# 256): stage I, stage II and the NoKD twin (configs/mixed_vocab/*_h<H>.yaml), then each
# student fine-tuned on SNIPS, SST-2 and MRPC without a teacher (seeds from SEEDS, default 0)
# and, where the MiniLM task teacher run exists, with its logits (configs/mixed_vocab/distill_*),
# and the SNIPS runs exported (float, int8 and the int8 strings-in model, every test example
# verified). The MiniLM SNIPS teacher (configs/teacher_snips_minilm.yaml) is exported the same
# way for the latency comparison. A finished step
# is skipped, so the script resumes after a kill. Needs the 5K vocabulary first:
#   tfcompress vocab --corpus ../shared/data/corpus/wiki_train_0*.txt --size 5000 \
#     --output runs/mixed_vocab/student_vocab_5k.txt \
#     --compare ../shared/teachers/all-minilm-l6-v2/vocab.txt
# Usage, from the repository root:  SEEDS="0 1 2" bash benchmarks/mixed_vocab_study.sh 96
# Then: python benchmarks/mixed_vocab_table.py runs/mixed_vocab > runs/logs/mixed_vocab_table.md
set -euo pipefail
seeds=${SEEDS:-0}
root=runs/mixed_vocab
mkdir -p runs/logs
step() {  # name, command...: run unless the run directory's metrics.json exists
  local dir=$1; shift
  [ -f "${dir}/metrics.json" ] && return 0
  "$@" > "runs/logs/$(basename "$dir").log" 2>&1 || { echo "FAILED: $dir"; return 1; }
}
seed_suffix() {  # seed 0 runs keep the plain name
  [ "$1" = 0 ] || echo "_seed$1"
}
teacher=runs/teacher_snips_minilm
for mode in float int8; do
  [ ! -f "${teacher}/metrics.json" ] || [ -f "${teacher}/export/${mode}.json" ] \
    || tfcompress export "$teacher" --mode "$mode" --verify-examples 0 \
      > "runs/logs/teacher_snips_${mode}.log" 2>&1 || echo "EXPORT FAILED: ${teacher} ${mode}"
done
for h in "$@"; do
  step "${root}/stage1_h${h}" tfcompress pretrain --config "configs/mixed_vocab/stage1_h${h}.yaml"
  # What freezing the teacher's layers costs stage I in held-out accuracy and time (H96 only).
  [ "$h" != 96 ] || step "${root}/stage1_h96_frozen" tfcompress pretrain \
    --config configs/mixed_vocab/stage1_h96.yaml --set teacher.freeze_layers=true \
    --output-dir "${root}/stage1_h96_frozen" || true
  step "${root}/stage2_h${h}" tfcompress pretrain --config "configs/mixed_vocab/stage2_h${h}.yaml"
  step "${root}/nokd_h${h}" tfcompress pretrain --config "configs/mixed_vocab/nokd_h${h}.yaml"
  for init in stage2 nokd; do
    for task in snips sst2 mrpc; do
      for seed in $seeds; do
        name="${task}_${init}_h${h}$(seed_suffix "$seed")"
        step "${root}/${name}" tfcompress finetune --config "configs/mixed_vocab/finetune_${task}.yaml" \
          --set "model.checkpoint=${root}/${init}_h${h}" --set "seed=${seed}" \
          --output-dir "${root}/${name}" || true
        # Beyond the paper: the same start, fine-tuned with the MiniLM task teacher's logits.
        kd="${task}_kd_${init}_h${h}$(seed_suffix "$seed")"
        [ ! -f "runs/teacher_${task}_minilm/metrics.json" ] || step "${root}/${kd}" \
          tfcompress distill --config "configs/mixed_vocab/distill_${task}.yaml" \
          --set "student.checkpoint=${root}/${init}_h${h}" --set "seed=${seed}" \
          --output-dir "${root}/${kd}" || true
      done
    done
    # SNIPS again with 4x the learning rate and twice the epochs (the 10-epoch runs underfit),
    # with the labels alone and with the teacher's logits too.
    step "${root}/snips_long_${init}_h${h}" tfcompress finetune \
      --config configs/mixed_vocab/finetune_snips_long.yaml \
      --set "model.checkpoint=${root}/${init}_h${h}" --output-dir "${root}/snips_long_${init}_h${h}" \
      || true
    [ ! -f "runs/teacher_snips_minilm/metrics.json" ] || step "${root}/snips_kd_long_${init}_h${h}" \
      tfcompress distill --config configs/mixed_vocab/distill_snips.yaml \
      --set "student.checkpoint=${root}/${init}_h${h}" \
      --set training.epochs=20 --set training.learning_rate=2e-3 \
      --output-dir "${root}/snips_kd_long_${init}_h${h}" || true
    # The wider students' SNIPS recipe: the long recipe's 2e-3 diverged at H192, so 1e-3 for
    # 12 epochs, every seed (docs/results.md, "L6-H192 at lr 3e-4").
    [ "$h" = 96 ] || for seed in $seeds; do
      name="snips_12ep_${init}_h${h}$(seed_suffix "$seed")"
      step "${root}/${name}" tfcompress finetune \
        --config configs/mixed_vocab/finetune_snips_long.yaml \
        --set "model.checkpoint=${root}/${init}_h${h}" --set training.learning_rate=1e-3 \
        --set training.epochs=12 --set "seed=${seed}" --output-dir "${root}/${name}" || true
    done
    # H96's best recipe (task KD + word states + slot swap) at the wider students' 1e-3.
    kd_words="snips_kd_words5_swap_lr1e-3_${init}_h${h}"
    [ "$h" = 96 ] || [ ! -f "runs/teacher_snips_minilm/metrics.json" ] || step "${root}/${kd_words}" \
      tfcompress distill --config configs/mixed_vocab/distill_snips_words.yaml \
      --set "student.checkpoint=${root}/${init}_h${h}" --set training.learning_rate=1e-3 \
      --output-dir "${root}/${kd_words}" || true
    # The long recipe's 20-21 passes over SNIPS, a third of them the original utterances: two
    # copies with every slot value swapped for another of its slot (data.slot_swap), 7 epochs.
    step "${root}/snips_swap_${init}_h${h}" tfcompress finetune \
      --config configs/mixed_vocab/finetune_snips_long.yaml \
      --set "model.checkpoint=${root}/${init}_h${h}" --set training.epochs=7 \
      --set data.slot_swap.copies=2 --output-dir "${root}/snips_swap_${init}_h${h}" || true
    [ ! -f "runs/teacher_snips_minilm/metrics.json" ] || step "${root}/snips_kd_swap_${init}_h${h}" \
      tfcompress distill --config configs/mixed_vocab/distill_snips.yaml \
      --set "student.checkpoint=${root}/${init}_h${h}" \
      --set training.epochs=7 --set training.learning_rate=2e-3 --set data.slot_swap.copies=2 \
      --output-dir "${root}/snips_kd_swap_${init}_h${h}" || true
    for dir in "${root}/snips_${init}_h${h}" "${root}/snips_long_${init}_h${h}" \
      "${root}/snips_kd_${init}_h${h}" "${root}/snips_kd_long_${init}_h${h}" \
      "${root}/snips_swap_${init}_h${h}" "${root}/snips_kd_swap_${init}_h${h}" \
      "${root}/snips_12ep_${init}_h${h}" "${root}/${kd_words}"; do
      [ -f "${dir}/metrics.json" ] || continue
      for mode in float int8; do
        [ -f "${dir}/export/${mode}.json" ] || tfcompress export "$dir" --mode "$mode" \
          --verify-examples 0 > "runs/logs/$(basename "$dir")_${mode}.log" 2>&1 \
          || echo "EXPORT FAILED: ${dir} ${mode}"
      done
      [ -f "${dir}/export/int8_text.json" ] || tfcompress export "$dir" --mode int8 \
        --strings-in --verify-examples 0 > "runs/logs/$(basename "$dir")_int8_text.log" 2>&1 \
        || echo "EXPORT FAILED: ${dir} int8 strings-in"
    done
  done
done
# L6-H96's best SNIPS recipe (task KD + word states + slot swap, distill_snips_words.yaml) on
# each H96 student (every seed), and two levers on its slot F1: NoKD pretrained 2.75x longer
# (11,000 steps, 55 epochs of 200) and NoKD with 2 heads of 48 in place of 4 of 24
# (docs/results.md, "L6-H96 pretrained 2.75x longer" and "L6-H96 with two heads").
if [[ " $* " == *" 96 "* ]] && [ -f runs/teacher_snips_minilm/metrics.json ]; then
  step "${root}/nokd_h96_11k" tfcompress pretrain --config configs/mixed_vocab/nokd_h96.yaml \
    --set training.epochs=55 --output-dir "${root}/nokd_h96_11k"
  step "${root}/nokd_h96_a2" tfcompress pretrain --config configs/mixed_vocab/nokd_h96.yaml \
    --set student.encoder.num_heads=2 --output-dir "${root}/nokd_h96_a2"
  for init in stage2_h96 nokd_h96 nokd_h96_11k nokd_h96_a2; do
    for seed in $seeds; do
      dir="${root}/snips_kd_words5_swap_${init}$(seed_suffix "$seed")"
      step "$dir" tfcompress distill --config configs/mixed_vocab/distill_snips_words.yaml \
        --set "student.checkpoint=${root}/${init}" --set "seed=${seed}" --output-dir "$dir" \
        || continue
      [ -f "${dir}/export/int8.json" ] || tfcompress export "$dir" --mode int8 \
        --verify-examples 0 > "runs/logs/$(basename "$dir")_int8.log" 2>&1 \
        || echo "EXPORT FAILED: ${dir} int8"
    done
  done
  # Slot F1 of argmax against BIO-constrained decoding, Keras and int8, over the seeds
  # (docs/results.md, "BIO-constrained decoding").
  python benchmarks/slot_decoding.py "$teacher" "${root}"/snips_kd_words5_swap_{stage2,nokd}_h96 \
    "${root}"/snips_kd_words5_swap_nokd_h96_{11k,a2} --seeds \
    --out "${root}/slot_decoding.json" > runs/logs/slot_decoding.md || true
fi
# Stage II with the stage-I teacher's layers as targets (stage2_kd_h<H>.yaml, 64 tokens: the
# teacher's positions) against NoKD at the same 64 tokens, fine-tuned on SST-2 and by the
# words recipe on SNIPS (1e-3 for the wider students, as above), each of those exported as
# int8, and on SNIPS labels alone (the long recipe; 12 epochs at 1e-3 for the wider students,
# as above). At H96 also NoKD given the distilled stage's wall time: 9,800 steps (49 epochs)
# (docs/results.md, "Stage II from the stage-I teacher's layers").
[ -f runs/teacher_snips_minilm/metrics.json ] || exit 0
for h in "$@"; do
  step "${root}/stage2_kd_h${h}" tfcompress pretrain --config "configs/mixed_vocab/stage2_kd_h${h}.yaml"
  step "${root}/nokd_h${h}_len64" tfcompress pretrain --config "configs/mixed_vocab/nokd_h${h}.yaml" \
    --set masking.sequence_length=64 --output-dir "${root}/nokd_h${h}_len64"
  inits="stage2_kd_h${h} nokd_h${h}_len64"
  words_lr=() labels=snips_long labels_recipe=()
  [ "$h" = 96 ] || words_lr=(--set training.learning_rate=1e-3) labels=snips_12ep \
    labels_recipe=(--set training.learning_rate=1e-3 --set training.epochs=12)
  if [ "$h" = 96 ]; then
    step "${root}/nokd_h96_len64_9800" tfcompress pretrain --config configs/mixed_vocab/nokd_h96.yaml \
      --set masking.sequence_length=64 --set training.epochs=49 \
      --output-dir "${root}/nokd_h96_len64_9800"
    inits="${inits} nokd_h96_len64_9800"
  fi
  for init in $inits; do
    for seed in $seeds; do
      dir="${root}/sst2_${init}$(seed_suffix "$seed")"
      step "$dir" tfcompress finetune --config configs/mixed_vocab/finetune_sst2.yaml \
        --set "model.checkpoint=${root}/${init}" --set "seed=${seed}" --output-dir "$dir" || true
      dir="${root}/${labels}_${init}$(seed_suffix "$seed")"
      step "$dir" tfcompress finetune --config configs/mixed_vocab/finetune_snips_long.yaml \
        --set "model.checkpoint=${root}/${init}" --set "seed=${seed}" "${labels_recipe[@]}" \
        --output-dir "$dir" || true
      dir="${root}/snips_kd_words5_swap_${init}$(seed_suffix "$seed")"
      step "$dir" tfcompress distill --config configs/mixed_vocab/distill_snips_words.yaml \
        --set "student.checkpoint=${root}/${init}" --set "seed=${seed}" "${words_lr[@]}" \
        --output-dir "$dir" || continue
      [ -f "${dir}/export/int8.json" ] || tfcompress export "$dir" --mode int8 \
        --verify-examples 0 > "runs/logs/$(basename "$dir")_int8.log" 2>&1 \
        || echo "EXPORT FAILED: ${dir} int8"
    done
  done
done
