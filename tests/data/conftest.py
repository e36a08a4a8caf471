from pathlib import Path

import pytest
import yaml


@pytest.fixture
def write_config(tmp_path: Path):
    """Write an ingest YAML next to the test files; sources get sensible defaults."""

    def write(*sources: dict, **top) -> Path:
        defaults = {"service": "shop", "user_column": "uid", "time_column": "ts",
                    "time_format": "iso8601", "text": "{title}"}  # fmt: skip
        srcs = []
        for s in sources:
            merged = {**defaults, **s}
            if "service_column" in s and "service" not in s:
                merged.pop("service")
            srcs.append({k: v for k, v in merged.items() if v is not None})
        cfg = {"sources": srcs, "output": "out/events.parquet", "rejects": "out/rejects.csv", **top}
        path = tmp_path / "ingest.yaml"
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
        return path

    return write
