import pytest

from byod.atomic import atomic_path, write_json


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path) -> None:
    target = write_json({"v": 1}, tmp_path / "x.json")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text().strip().endswith("}") and '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
