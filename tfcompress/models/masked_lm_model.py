"""Encoder + tied masked-LM head, for MLM pretraining stages."""

import keras

from tfcompress.layers.masked_lm_head import MaskedLMHead


@keras.saving.register_keras_serializable(package="tfcompress")
class MaskedLMModel(keras.Model):
    """Inputs: the encoder's three plus `mask_positions` int [B, P]; output: logits [B, P, V].

    The decoder is the encoder's (possibly quantized) word table, so the head
    adds only the transform, its LayerNorm and an output bias. With a second
    vocabulary (mixed-vocabulary stage I) the logits cover both, first
    vocabulary first: `[B, P, vocab_size + second_vocab_size]`.

    Args:
        encoder: an `Encoder` (or its serialized form); the head follows its
            config (vocabulary, embedding width, activation, epsilon, init range).
        **kwargs: `keras.Model` arguments such as `name` and `dtype`.

    Example:

    ```python
    model = MaskedLMModel(Encoder(config))
    logits = model({**inputs, "mask_positions": np.array([[1, 3]], "int32")})
    # [1, 2, config.vocab_size]
    ```
    """

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        self.encoder = encoder
        config = encoder.config
        self.mlm_head = MaskedLMHead(
            config.total_vocab_size,
            config.embedding_dim or config.hidden_size,
            hidden_act=config.hidden_act,
            layer_norm_epsilon=config.layer_norm_epsilon,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=config.initializer_range),
            dtype=self.dtype_policy,
            name="mlm_head",
        )

    def build(self, input_shape=None):
        # Shapes come from the config, so save/load rebuilds without data.
        if not self.encoder.built:
            self.encoder.build()
        if not self.mlm_head.built:
            self.mlm_head.build((None, None, self.encoder.config.hidden_size))
        self.built = True

    def call(self, inputs, training=None):
        outputs = self.encoder(inputs, training=training)
        return self.head_logits(outputs, inputs["mask_positions"], training)

    def head_logits(self, encoder_outputs, mask_positions, training=None):
        """Logits at `mask_positions` from the encoder's outputs dict (for a caller that
        also needs its hidden states: run the encoder once)."""
        table = self.encoder.embeddings.output_table(training)
        return self.mlm_head(encoder_outputs["sequence_output"], mask_positions, table)

    def get_config(self):
        config = super().get_config()
        config["encoder"] = keras.saving.serialize_keras_object(self.encoder)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
