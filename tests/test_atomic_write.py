import os
import stat

from tfcompress.atomic_write import write_text_atomic


def test_atomic_writes_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "metrics.json", "{}\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "metrics.json").stat().st_mode) == 0o644
    assert (tmp_path / "metrics.json").read_text() == "{}\n"
