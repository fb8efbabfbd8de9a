"""tf.distribute strategies by name, for users who outgrow one machine."""

import tensorflow as tf

from tfcompress.errors import ConfigError


def make_strategy(name, tpu=None):
    """ "default" (one device), "mirrored" (all local GPUs / logical devices),
    "multi_worker" (reads TF_CONFIG), "tpu" (`tpu` is the TPU name or grpc address)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(f"strategy: {name!r} unknown")
