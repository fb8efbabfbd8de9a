"""Knowledge-distillation losses, each a function of student and teacher outputs.

Shapes: logits [B, C] or [B, S, C] (token-level, with a [B, S] mask); hidden states
[B, S, H]; attention [B, heads, S, S]. All return a scalar mean over examples
(over the global batch under a multi-replica tf.distribute strategy).
"""

import tensorflow as tf
from keras import ops


def _masked_mean(values, mask):
    """Mean of `values` [B] or [B, S] over positions where `mask` is 1 (all when None).

    Under a tf.distribute strategy with several replicas, the mean is over the
    positions of the *global* batch: each replica returns its share times the
    replica count, so the replicas' mean (what gradients and metrics sum up) is the
    one-device value even when replicas hold different numbers of real tokens.
    """
    mask = ops.ones_like(values) if mask is None else ops.cast(mask, values.dtype)
    total, count = ops.sum(values * mask), ops.sum(mask)
    context = tf.distribute.get_replica_context()
    replicas = 1 if context is None else context.num_replicas_in_sync
    if replicas > 1:
        count = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(count))
        total = total * replicas
    return total / ops.maximum(count, 1.0)


def ground_truth_cross_entropy(labels, logits):
    """Sparse CE with integer `labels`; negative labels (not a word start, no gold
    label) do not count."""
    labels = ops.cast(labels, "int32")
    valid = ops.cast(labels >= 0, logits.dtype)
    safe_labels = ops.maximum(labels, 0)
    per_position = ops.sparse_categorical_crossentropy(safe_labels, logits, from_logits=True)
    return _masked_mean(per_position, valid)


def soft_target_kl(student_logits, teacher_logits, temperature=1.0, mask=None):
    """KL(teacher_T ‖ student_T) · T², the Hinton/PKD soft-target loss.

    The T² factor keeps gradient magnitudes comparable across temperatures.
    """
    t = float(temperature)
    teacher_log_probs = ops.log_softmax(teacher_logits / t, axis=-1)
    student_log_probs = ops.log_softmax(student_logits / t, axis=-1)
    kl = ops.sum(ops.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs), axis=-1)
    return _masked_mean(kl, mask) * (t * t)


def _l2_normalize(x):
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=-1, keepdims=True), 1e-12))


def normalized_mse(student_states, teacher_states, mask=None):
    """PKD's patient loss: ‖h_s/‖h_s‖ − h_t/‖h_t‖‖², averaged over examples.

    Inputs are [B, H] ([CLS] states of one layer pair) or [B, S, H] with a [B, S] `mask`
    (states at chosen positions, such as word starts), of equal width (project the
    student first when widths differ). Normalizing makes the loss blind to scale, which
    matters for teachers with a few large hidden dimensions.
    """
    diff = _l2_normalize(student_states) - _l2_normalize(teacher_states)
    return _masked_mean(ops.sum(ops.square(diff), axis=-1), mask)


def hidden_state_mse(student_hidden, teacher_hidden, mask=None):
    """Mean squared error over real tokens of two [B, S, H] hidden states."""
    per_token = ops.mean(ops.square(student_hidden - teacher_hidden), axis=-1)
    return _masked_mean(per_token, mask)


def attention_mse(student_attention, teacher_attention, mask=None):
    """MSE of two [B, heads, S, S] attention maps, over query rows of real tokens.

    Head counts must match (TinyBERT-style); padded key columns are zero in both
    probability maps, so only query rows need masking.
    """
    per_row = ops.mean(ops.square(student_attention - teacher_attention), axis=(1, 3))
    return _masked_mean(per_row, mask)


def attention_score_mse(student_scores, teacher_scores, mask=None):
    """MSE of two [B, heads, S, S] pre-softmax score maps over real query rows and real keys.

    Scores are not masked by the model (padded keys hold ordinary values), so unlike
    `attention_mse` the key columns are masked here too.
    """
    squared = ops.square(student_scores - teacher_scores)
    if mask is None:
        return _masked_mean(ops.mean(squared, axis=(1, 3)), None)
    keys = ops.cast(mask, squared.dtype)
    per_row = ops.sum(squared * keys[:, None, None, :], axis=3)  # [B, heads, S]
    real_keys = ops.maximum(ops.sum(keys, axis=1), 1.0)[:, None]
    return _masked_mean(ops.mean(per_row, axis=1) / real_keys, mask)


def split_vocabulary_nll(logits, labels, first_vocab_size):
    """Per-position negative log-likelihood under the softmax of the label's own vocabulary
    (Zhao et al. eq. 1), and whether the prediction within that vocabulary is right.

    `logits` [B, P, V1 + V2] cover two vocabularies (all of the first, then all of the
    second); a label below `first_vocab_size` is scored against the first slice only,
    any other against the second. With `first_vocab_size` 0 (or V2 = 0) this is plain
    sparse cross-entropy. Returns (nll [B, P], correct [B, P] float).
    """
    labels = ops.cast(labels, "int32")
    logits = ops.cast(logits, "float32")
    in_second = labels >= first_vocab_size
    label_logit = ops.squeeze(ops.take_along_axis(logits, labels[..., None], axis=-1), -1)
    first, second = logits[..., :first_vocab_size], logits[..., first_vocab_size:]
    if first_vocab_size == 0:
        log_normalizer = ops.logsumexp(second, axis=-1)
        prediction = ops.cast(ops.argmax(second, axis=-1), "int32")
    elif second.shape[-1] == 0:
        log_normalizer = ops.logsumexp(first, axis=-1)
        prediction = ops.cast(ops.argmax(first, axis=-1), "int32")
    else:
        log_normalizer = ops.where(
            in_second, ops.logsumexp(second, axis=-1), ops.logsumexp(first, axis=-1)
        )
        prediction = ops.where(
            in_second,
            ops.cast(ops.argmax(second, axis=-1), "int32") + first_vocab_size,
            ops.cast(ops.argmax(first, axis=-1), "int32"),
        )
    correct = ops.cast(ops.equal(prediction, labels), "float32")
    return log_normalizer - label_logit, correct
