"""TensorFlow's C++ log lines (absl: `I0000 00:00:… port.cc:153] oneDNN …`, `E0000 … cuInit`),
kept off a command's stderr unless it runs with --verbose.

TensorFlow 2.21 logs through absl before anything can initialize it, and ignores
TF_CPP_MIN_LOG_LEVEL for those lines, so the command filters its own file descriptor 2.
"""

import atexit
import os
import re
import sys
import threading

_NATIVE_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions: "
    # LiteRT's INFO lines (XNNPACK delegate created) and the MLIR quantizer's settings dump.
    rb"|INFO: Created TensorFlow Lite |fully_quantize: \d+, inference_type: )"
)


def is_native_log_line(line: bytes) -> bool:
    return bool(_NATIVE_LINE.match(line))


def hide_native_logs():
    """Routes file descriptor 2 through a thread that drops TensorFlow's C++ log lines and
    passes everything else (our `error:` lines, tracebacks, warnings) on unchanged."""
    read_end, write_end = os.pipe()
    original = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump():
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not is_native_log_line(line):
                    os.write(original, line)

    thread = threading.Thread(target=pump, name="native-log-filter", daemon=True)
    thread.start()

    @atexit.register
    def restore():
        sys.stderr.flush()
        os.dup2(original, 2)  # the pipe's last writer closes: the pump drains and ends
        thread.join(timeout=5)
