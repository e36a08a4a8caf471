"""Text classification from few labels: local LLMs, soft labels, semi-supervised training.

The pieces, each usable alone: :mod:`~byod.textlab.llm` (backends), :mod:`~byod.textlab.prompts`
(templates and tasks as YAML), :func:`augment` / :func:`generate` / :func:`pseudolabel` (LLM
operations, cached to JSONL), :mod:`~byod.textlab.calibrate`, :func:`dedupe`,
:mod:`~byod.textlab.select` (out-of-domain data), :class:`HyperMatchHead` and
:func:`fit_hypermatch` (training), :func:`judge_teacher` (whether the LLM may teach),
:mod:`~byod.textlab.threads` (threads per step), :mod:`~byod.textlab.curve` (data-performance
curves).
"""

from byod.textlab.augment import GenerationConfig, augment, generate
from byod.textlab.dedupe import dedupe
from byod.textlab.hypermatch import HyperMatchConfig, fit_hypermatch
from byod.textlab.jsonl_cache import JsonlCache
from byod.textlab.llm import open_llm
from byod.textlab.prompts import load_task
from byod.textlab.pseudolabel import pseudolabel
from byod.textlab.semisup import HyperMatchHead, SSLConfig
from byod.textlab.teacher import judge_teacher

__all__ = [
    "GenerationConfig",
    "HyperMatchConfig",
    "HyperMatchHead",
    "JsonlCache",
    "SSLConfig",
    "augment",
    "dedupe",
    "fit_hypermatch",
    "generate",
    "judge_teacher",
    "load_task",
    "open_llm",
    "pseudolabel",
]
