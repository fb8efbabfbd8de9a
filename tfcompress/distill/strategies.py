"""tf.distribute strategies by name, for users who outgrow one machine."""

import socket
import tempfile
from pathlib import Path

import tensorflow as tf

from tfcompress.errors import ConfigError

_TPU_HINT = (
    "set tpu: to a Cloud TPU name, grpc://host:port, or local on a TPU VM, "
    "or use strategy: default | mirrored | multi_worker"
)


def make_strategy(name, tpu=None):
    """ "default" (one device), "mirrored" (all local GPUs / logical devices),
    "multi_worker" (reads TF_CONFIG), "tpu" (`tpu` is the TPU name or grpc address).

    Call it before any other TensorFlow op: multi-worker collectives and TPU
    connections must be set up first. A TPU that cannot be found or started is a
    ConfigError, not a TensorFlow traceback."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return _tpu_strategy(tpu)
    raise ConfigError(f"strategy: {name!r} unknown")


def worker_count(strategy):
    """How many machines a strategy spans (1 unless a multi-worker cluster is configured)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    spec = strategy.cluster_resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("chief", [])) + len(spec.get("worker", [])))


def is_chief(strategy):
    """Whether this process writes the run directory: the `chief` task, or worker 0 of a
    cluster without one, or any process that is not part of a multi-worker cluster."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    if not resolver.task_type:
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
    )


def scratch_directory(strategy):
    """Where a non-chief worker writes what the chief writes for real (the tf.distribute
    multi-worker guide's rule): a fresh temporary folder named after its task."""
    resolver = strategy.cluster_resolver
    prefix = f"tfcompress-{resolver.task_type}{resolver.task_id}-"
    return Path(tempfile.mkdtemp(prefix=prefix))


def _tpu_strategy(tpu):
    where = f"tpu: {tpu!r}" if tpu else "no tpu: name and no TPU_NAME in the environment"
    if tpu and tpu.startswith("grpc://"):
        # TensorFlow waits on an address where nothing listens; fail fast instead.
        _check_listening(tpu)
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, OSError, ImportError, RuntimeError, tf.errors.OpError) as e:
        # TensorFlow's first sentence says what failed; the rest is kernel detail.
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        reason = reason.split(". ")[0].rstrip(".")[:200]
        raise ConfigError(
            f"strategy: tpu: cannot start a TPU with {where} ({reason}); {_TPU_HINT}"
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def _check_listening(address):
    host, _, port = address[len("grpc://") :].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except (OSError, ValueError) as e:
        raise ConfigError(f"tpu: {address!r}: nothing answers there ({e}); {_TPU_HINT}") from None
