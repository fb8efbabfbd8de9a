"""The README's library example must run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python example"
    code = blocks[0].replace("/tmp/student.keras", str(tmp_path / "student.keras"))
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    import keras

    loaded = keras.models.load_model(tmp_path / "student.keras", safe_mode=True)
    assert loaded.count_params() == namespace["model"].count_params()
    assert len(namespace["outputs"]["hidden_states"]) == 5
