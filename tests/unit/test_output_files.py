"""Output files: checked before any work, renamed into place only when complete."""

import pytest

from edgematte.errors import EdgematteError, OutputExistsError
from edgematte.output_files import check_output_file, partial_name, written_atomically


def test_an_interrupted_write_leaves_the_old_file_and_no_partial(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with written_atomically(path) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert path.read_text() == "old" and not partial_name(path).exists()
    with written_atomically(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_check_output_file_refuses_before_any_work(tmp_path):
    (tmp_path / "taken.png").write_bytes(b"x")
    with pytest.raises(OutputExistsError, match="already exists; pass --force"):
        check_output_file(tmp_path / "taken.png", force=False)
    assert check_output_file(tmp_path / "taken.png", force=True) == tmp_path / "taken.png"
    with pytest.raises(EdgematteError, match="must end in .png"):
        check_output_file(tmp_path / "chart.jpg", force=True, suffixes=(".png",), what="--plot")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(OutputExistsError, match="not a regular file"):
        check_output_file(tmp_path / "folder.png", force=True)
    with pytest.raises(OutputExistsError, match="is also an input"):
        check_output_file(tmp_path / "taken.png", force=True, inputs=[tmp_path / "." / "taken.png"])
