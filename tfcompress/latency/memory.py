"""Resident memory of this process (Linux /proc): RSS before and after a model is loaded and
run, and the peak (VmHWM) in between."""

import gc


def proc_status_mb(field):
    """A /proc/self/status memory field in MB (1 MB = 2**20 bytes), None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == field:
                    return int(value.split()[0]) / 1024.0
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux `clear_refs` 5) so each thread count gets its
    own peak; returns False where the kernel does not allow it (the peak then carries over)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def start_rss_window():
    """Collect garbage (the previous interpreter), reset the peak, read RSS: the baseline
    rss_window_fields() compares with."""
    gc.collect()
    peak_reset = reset_peak_rss()
    return proc_status_mb("VmRSS"), peak_reset


def rss_window_fields(window):
    """Memory since start_rss_window(), as the report's result fields.

    rss_delta_mb is resident memory now minus at the start; peak_rss_mb is VmHWM, which is
    process-wide: it includes Python, numpy and the interpreter library, not just the model.
    """
    before, peak_reset = window
    after, peak = proc_status_mb("VmRSS"), proc_status_mb("VmHWM")
    return {
        "peak_rss_mb": peak,
        "rss_delta_mb": None if after is None or before is None else after - before,
        "hwm_delta_mb": None if peak is None or before is None else peak - before,
        "peak_rss_reset": peak_reset,
    }
