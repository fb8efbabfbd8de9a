"""Shuffled Parameter Sharing (Pea-KD §3.2) as encoder layer plans."""

import dataclasses

from tfcompress.errors import ConfigError

SPS_STEPS = (1, 2)


def sps_layer_plan(num_layers, step, reuse_top=None):
    """The executed layers of an SPS student with `num_layers` parameter blocks.

    Step 1 runs the blocks bottom to top, then runs the reused blocks again
    (paired sharing); step 2 runs the reused copies with query and key swapped.
    `reuse_top=None` reuses every block (2k layers); `reuse_top=3` reuses only
    the top 3 (a 6-block student then runs 9 layers, the paper's 6-layer variant).
    """
    if step not in SPS_STEPS:
        raise ConfigError(f"sps: step must be 1 or 2, got {step!r}")
    reuse_top = num_layers if reuse_top is None else reuse_top
    if not 1 <= reuse_top <= num_layers:
        raise ConfigError(f"sps_reuse_top: must be in [1, {num_layers}], got {reuse_top}")
    bottom = [(i, False) for i in range(num_layers)]
    reused = [(i, step == 2) for i in range(num_layers - reuse_top, num_layers)]
    return bottom + reused


def sps_config(config, step, reuse_top=None):
    """`config` with the SPS plan; same parameter blocks, deeper execution."""
    return dataclasses.replace(
        config, layer_plan=sps_layer_plan(config.num_layers, step, reuse_top)
    )
