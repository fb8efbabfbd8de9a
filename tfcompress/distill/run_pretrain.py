"""`tfcompress pretrain`: mixed-vocabulary stage I, stage II and the NoKD baseline."""

import dataclasses
import json

import keras
import numpy as np

from tfcompress.data.datasets import epoch_seed
from tfcompress.data.mlm_examples import fixed_mlm_examples, mlm_dataset
from tfcompress.data.segmented_corpus import SegmentedCorpus
from tfcompress.data.vocabulary import ascii_tokens, read_vocabulary
from tfcompress.data.wordpiece_tokenizer import check_vocab
from tfcompress.distill.masked_lm_pretrainer import MaskedLMPretrainer
from tfcompress.distill.stage_two_distiller import (
    StageTwoDistiller,
    layer_pairs,
    teacher_token_ids,
)
from tfcompress.errors import ConfigError, DataError
from tfcompress.models import Encoder, EncoderConfig, MaskedLMModel, load_hf_encoder
from tfcompress.models.student_init import init_from_teacher
from tfcompress.run_directory import RunDirectory
from tfcompress.run_plan import RunPlan, model_rows, output_rows
from tfcompress.tasks.pretrained_run import PretrainedRun
from tfcompress.tasks.task_runtime import hf_checkpoint_tokenizer
from tfcompress.training.engine import default_verbosity, final_loss, fit_in_run, make_optimizer
from tfcompress.training.history_csv import read_rows


@dataclasses.dataclass
class PreparedPretrain:
    """Everything a run needs, built before its directory is touched (`prepare_pretrain`)."""

    run: RunDirectory
    config_dict: dict
    resuming: bool
    vocabularies: list
    lower_case: bool
    train_corpus: SegmentedCorpus
    eval_corpus: SegmentedCorpus
    model: MaskedLMModel
    stage_one: PretrainedRun | None
    plan: RunPlan
    teacher: MaskedLMModel | None = None
    teacher_ids: np.ndarray | None = None


def check_student_vocabulary(tokens, source):
    """A student vocabulary needs BERT's special tokens, [MASK] and every printable ASCII
    character (word-initial and `##`), so that no ASCII word becomes [UNK]."""
    check_vocab(tokens, source)
    present = set(tokens)
    missing = [t for t in ("[MASK]", *ascii_tokens()) if t not in present]
    if missing:
        raise DataError(
            f"{source}: the student vocabulary lacks {len(missing)} required token(s), e.g. "
            f"{', '.join(map(repr, missing[:5]))}; learn one with `tfcompress vocab` (it adds "
            "the special tokens and every printable ASCII character)"
        )


def _student_vocabulary(config, stage_one):
    if stage_one is not None:
        return stage_one.student_vocab()
    tokens = read_vocabulary(config.student.vocab)
    check_student_vocabulary(tokens, config.student.vocab)
    return tokens


def _student_encoder_config(config, vocab_size):
    values = {
        **config.student.encoder,
        "vocab_size": vocab_size,
        "max_length": config.masking.sequence_length,
    }
    return EncoderConfig.from_dict(values, where="student.encoder")


def _stage_one_model(config, student_vocab_size):
    """The teacher encoder with the student table (width e = student hidden size) and its
    affine up-projection as a second vocabulary; the MLM head starts fresh."""
    student_config = _student_encoder_config(config, student_vocab_size)
    teacher = load_hf_encoder(config.teacher.checkpoint, config.masking.sequence_length)
    mixed_config = dataclasses.replace(
        teacher.config,
        second_vocab_size=student_vocab_size,
        second_embedding_dim=student_config.hidden_size,
    )
    encoder = Encoder(mixed_config, name="encoder")
    init_from_teacher(encoder, teacher)
    if config.teacher.freeze_layers:
        for block in encoder.blocks:
            block.trainable = False
    return MaskedLMModel(encoder, name="masked_lm")


def _student_model(config, vocab_size, stage_one):
    encoder = Encoder(_student_encoder_config(config, vocab_size), name="encoder")
    encoder.build()
    if stage_one is not None:
        table = stage_one.student_table()
        target = encoder.embeddings.word_embeddings
        if tuple(table.shape) != tuple(target.shape):
            raise ConfigError(
                f"stage_one: {stage_one.directory} trained a student table of shape "
                f"{tuple(table.shape)}; this student needs {tuple(target.shape)} (vocabulary "
                "size x hidden_size): use the stage I run made for this hidden size"
            )
        if config.student.center_table:
            table = table - table.mean(axis=0, keepdims=True)
        target.assign(table)
    return MaskedLMModel(encoder, name="masked_lm")


def prepare_pretrain(config, overwrite=False):
    """Checks the output directory, reads vocabularies and corpus files and builds the
    model: what can fail on user input, without writing anything (`tfcompress check`)."""
    run = RunDirectory(config.output_dir)
    config_dict = json.loads(json.dumps(config.to_dict()))
    resuming = run.check_can_start(config_dict, overwrite)
    keras.utils.set_random_seed(config.seed)
    stage_one = None
    if config.stage == "stage2":
        stage_one = PretrainedRun.read(config.stage_one, role="stage_one", stages=("stage1",))
    student_vocab = _student_vocabulary(config, stage_one)
    # Stage II reads the vocabulary stage I learned its table with, cased as it was there.
    lower_case = stage_one.lower_case if stage_one else config.corpus.lower_case
    vocabularies = [student_vocab]
    if config.stage == "stage1":
        teacher_tokenizer = hf_checkpoint_tokenizer(
            config.teacher.checkpoint, config.masking.sequence_length, lower_case
        )
        vocabularies, lower_case = (
            [teacher_tokenizer.vocab, student_vocab],
            teacher_tokenizer.lower_case,
        )
    corpus = config.corpus
    train = SegmentedCorpus.read(corpus.train, vocabularies, lower_case, corpus.max_paragraphs)
    evaluation = SegmentedCorpus.read(corpus.eval, vocabularies, lower_case)
    if config.stage == "stage1":
        model = _stage_one_model(config, len(student_vocab))
    else:
        model = _student_model(config, len(student_vocab), stage_one)
    model.build()
    teacher, teacher_ids = _stage_one_teacher(config, stage_one, student_vocab)
    plan = _plan(config, run, resuming, vocabularies, train, evaluation, model)
    if teacher is not None:
        # Refuses, before anything is written, a student depth the teacher's cannot pair with.
        layer_pairs(model.encoder.config.num_layers, teacher.encoder.config.num_layers)
        model_rows(plan, "teacher (stage I, frozen)", teacher.encoder)
    return PreparedPretrain(
        run,
        config_dict,
        resuming,
        vocabularies,
        lower_case,
        train,
        evaluation,
        model,
        stage_one,
        plan,
        teacher,
        teacher_ids,
    )


def _stage_one_teacher(config, stage_one, student_vocab):
    """Stage I's model and the student tokens' ids in its tables, when stage II distils."""
    if config.distill is None:
        return None, None
    length = config.masking.sequence_length
    if length > stage_one.sequence_length:
        raise ConfigError(
            f"masking.sequence_length: {length} is longer than the {stage_one.sequence_length} "
            f"tokens the stage-I teacher {stage_one.directory} has positions for; use at most "
            f"{stage_one.sequence_length} with distill"
        )
    teacher_vocab = read_vocabulary(stage_one.directory / "vocab.txt")
    return stage_one.load_masked_lm(), teacher_token_ids(student_vocab, teacher_vocab)


def _pretrainer(config, prepared):
    if prepared.teacher is None:
        return MaskedLMPretrainer(prepared.model)
    weights = dataclasses.asdict(config.distill)  # hidden_weight, soft_weight, temperature
    return StageTwoDistiller(prepared.model, prepared.teacher, prepared.teacher_ids, **weights)


def _plan(config, run, resuming, vocabularies, train, evaluation, model):
    plan = RunPlan(f"pretrain ({config.stage})")
    output_rows(plan, run, resuming)
    plan.add("vocabularies", " + ".join(f"{len(v):,}" for v in vocabularies))
    plan.add("train paragraphs", train.num_paragraphs)
    plan.add("train words", train.num_words)
    plan.add("eval paragraphs", evaluation.num_paragraphs)
    t = config.training
    plan.add("sequence length", config.masking.sequence_length)
    plan.add(
        "epochs × steps",
        f"{t.epochs} × {t.steps_per_epoch:,} = {t.epochs * t.steps_per_epoch:,} "
        f"(batch {t.batch_size})",
    )
    model_rows(plan, "model", model)
    model_rows(plan, "encoder", model.encoder)
    return plan


def _write_vocabularies(run, prepared, sequence_length):
    run.write_text("vocab.txt", "\n".join(prepared.vocabularies[0]) + "\n")
    if len(prepared.vocabularies) == 2:
        run.write_text("student_vocab.txt", "\n".join(prepared.vocabularies[1]) + "\n")
    run.write_json(
        "tokenizer.json", {"sequence_length": sequence_length, "lower_case": prepared.lower_case}
    )


def run_pretrain(config, overwrite=False, callbacks=(), verbose=None):
    """Pretrains by masked-LM; returns (and writes) metrics.json's dict. Resumes a killed run."""
    verbose = default_verbosity(verbose)
    prepared = prepare_pretrain(config, overwrite)
    prepared.plan.print_warnings()
    run = prepared.run
    t, m = config.training, config.masking
    pretrainer = _pretrainer(config, prepared)
    pretrainer.compile(make_optimizer(t, t.epochs * t.steps_per_epoch))
    run.start(prepared.config_dict, overwrite=overwrite, resuming=prepared.resuming)
    _write_vocabularies(run, prepared, m.sequence_length)

    def epoch_dataset(epoch):
        seed = epoch_seed(config.seed, epoch)
        return mlm_dataset(prepared.train_corpus, m, t.batch_size, seed).take(t.steps_per_epoch)

    history, seconds = fit_in_run(
        pretrainer, epoch_dataset, t, run, t.steps_per_epoch, callbacks, verbose, prepared.model
    )
    inputs, targets = fixed_mlm_examples(
        prepared.eval_corpus, m, config.corpus.eval_examples, config.seed + 1
    )
    evaluation = pretrainer.evaluate(
        inputs, targets, batch_size=t.eval_batch_size, verbose=0, return_dict=True
    )
    run.save_model(prepared.model)
    summary = _summary(config, prepared, evaluation, history, seconds, run)
    run.finish(summary)
    return summary


def _summary(config, prepared, evaluation, history, seconds, run):
    t, m = config.training, config.masking
    epochs_run = len(history.history.get("loss", []))
    steps = epochs_run * t.steps_per_epoch
    # A resumed run's history.csv holds every session's epochs: the run's whole scale.
    total_steps = len(read_rows(run.history_path)) * t.steps_per_epoch
    encoder = prepared.model.encoder
    names = ("teacher", "student") if len(prepared.vocabularies) == 2 else ("student",)
    return {
        "stage": config.stage,
        "eval": {k: round(float(v), 5) for k, v in evaluation.items()},
        "eval_examples": config.corpus.eval_examples,
        "vocabularies": {n: len(v) for n, v in zip(names, prepared.vocabularies, strict=True)},
        "corpus": {
            "train_paragraphs": prepared.train_corpus.num_paragraphs,
            "train_words": prepared.train_corpus.num_words,
            "eval_paragraphs": prepared.eval_corpus.num_paragraphs,
        },
        "train": {
            "epochs_this_session": epochs_run,
            "steps_this_session": steps,
            "sequences_this_session": steps * t.batch_size,
            "token_positions_this_session": steps * t.batch_size * m.sequence_length,
            "wall_time_s": round(seconds, 1),
            "steps": total_steps,
            "sequences": total_steps * t.batch_size,
            "token_positions": total_steps * t.batch_size * m.sequence_length,
            "final_loss": final_loss(run),
        },
        "model": {
            "parameters": int(prepared.model.count_params()),
            "encoder_parameters": int(encoder.count_params()),
            "trainable_parameters": int(
                sum(v.numpy().size for v in prepared.model.trainable_variables)
            ),
            "encoder": encoder.config.to_dict(),
        },
        "stage_one": str(prepared.stage_one.directory) if prepared.stage_one else None,
    }
