"""How the package is installed: importable from anywhere, including the clone's parent."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_clone_named_tfcompress_does_not_shadow_the_package(tmp_path):
    # `git clone …/tfcompress` then running Python one level up puts a folder named
    # `tfcompress` (the clone, with its top-level export/) first on the import path.
    (tmp_path / "tfcompress").symlink_to(REPO, target_is_directory=True)
    code = "import tfcompress.export.tflite_export as m, tfcompress; print(tfcompress.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert Path(result.stdout.strip().splitlines()[-1]).name == "__init__.py"
