import keras

from tfcompress.training.nan_guard import NaNGuard


def test_records_where_loss_went_nan():
    guard = NaNGuard()
    guard.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    guard.model.stop_training = False
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(4, {"loss": 0.5})
    assert guard.failure is None and not guard.model.stop_training
    guard.on_train_batch_end(5, {"loss": float("nan")})
    assert "epoch 3, batch 6" in guard.failure and "learning_rate" in guard.failure
    assert guard.model.stop_training
