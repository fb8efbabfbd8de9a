"""User-facing errors: the CLI prints these as one line, without a traceback."""


class TfcompressError(Exception):
    """A problem the user can fix (bad config, missing file, malformed data...)."""


class ConfigError(TfcompressError):
    """A config file or config value is invalid; the message names the key."""


class DataError(TfcompressError):
    """Input data is missing or malformed; the message names the file and line."""


class CheckpointError(TfcompressError):
    """A checkpoint directory is missing, unsupported, or does not fit the model."""
