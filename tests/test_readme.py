"""The README's Python examples run as written (the docs must match the code)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)                   # the example saves model.json
    namespace: dict = {}
    exec(compile("\n".join(blocks), str(README), "exec"), namespace)
    assert (tmp_path / "model.json").exists()
    assert 0.5 < namespace["clf"].score(namespace["X_test"], namespace["y_test"]) <= 1.0
    assert len(namespace["weights"]) == 16        # one weight vector per read of the sampleset
