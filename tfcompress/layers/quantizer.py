"""`Quantizer`: the old name of `FakeQuantizer`, kept for one release."""

import warnings

import keras

from tfcompress.layers.fake_quantizer import FakeQuantizer


@keras.saving.register_keras_serializable(package="tfcompress")
class Quantizer(FakeQuantizer):
    """Deprecated alias of `FakeQuantizer` (renamed so it cannot be taken for
    `keras.quantizers.Quantizer`). Still registered under this name, so `.keras` files saved
    before the rename load; new code subclasses `FakeQuantizer`."""

    def __init__(self, **kwargs):
        if type(self) is Quantizer:
            warnings.warn(
                "tfcompress.layers.Quantizer is now FakeQuantizer; the old name goes in the "
                "next release",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(**kwargs)
