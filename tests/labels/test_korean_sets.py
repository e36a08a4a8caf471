"""NSMC and 3i4k from the shared data folder: the protocols, and one line when it is absent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from byod.errors import ByodError
from byod.labels.datasets import SharedDataMissing, nsmc, shared_data_dir, three_i4k
from byod.textlab.prompts import load_task

ROOT = Path(__file__).resolve().parents[2]
SHARED = shared_data_dir()
needs_shared = pytest.mark.skipif(
    not (SHARED / "nsmc" / "reviews.parquet").exists() or not (SHARED / "3i4k").is_dir(),
    reason=f"the shared data folder {SHARED} is absent (a fresh clone has no ../shared)",
)


@pytest.mark.parametrize("loader", [nsmc, three_i4k])
def test_a_missing_shared_folder_is_one_line(tmp_path, loader) -> None:
    with pytest.raises(SharedDataMissing) as info:
        loader(tmp_path / "nowhere")
    message = str(info.value)
    assert isinstance(info.value, ByodError) and "\n" not in message
    assert str(tmp_path / "nowhere") in message and "../shared/data" in message


def test_the_korean_bench_says_one_line_when_the_data_is_absent(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "hypermatch_korean.py"), "--data-root",
         str(tmp_path / "nowhere")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("error: nsmc:") and "Traceback" not in done.stderr
    )


@needs_shared
def test_nsmc_follows_the_binary_protocol() -> None:
    split = nsmc()
    assert set(split.test["label"]) == {"positive", "negative"} == set(split.train["label"])
    assert split.test.height == 5000 and split.test["label"].value_counts()["count"].to_list() == [
        2500,
        2500,
    ]
    assert split.train.height > 400_000  # ratings 5-8 dropped from the 712 K
    assert not set(split.test["text"]) & set(split.train["text"][:50_000])
    assert nsmc().test.equals(split.test)  # the fixed sample is the same on every call


@needs_shared
def test_three_i4k_has_its_own_split_and_korean_intent_words() -> None:
    split = three_i4k()
    assert (split.train.height, split.test.height) == (55_134, 6_121)
    assert split.test["label"].n_unique() == 7
    task = load_task("3i4k", labels=sorted(split.test["label"].unique()))
    assert task.template.language == "ko" and task.word("question") == "질문"
    nsmc_task = load_task("nsmc", labels=["negative", "positive"])
    assert nsmc_task.words == ("부정", "긍정")
