"""Where and when a number was measured: the host's description and a UTC timestamp."""

import datetime
import os
import platform


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_device():
    """OS, CPU model and CPU count: enough to tell which host a number came from."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cpus = f"{os.cpu_count()} CPUs"
    if usable and usable != os.cpu_count():
        cpus += f" ({usable} usable)"
    return f"{platform.system()} {platform.machine()}, {_cpu_model()}, {cpus}"


def utc_now():
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
