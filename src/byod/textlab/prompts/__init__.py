"""Prompt templates and task descriptions as data (YAML), Korean and English.

A :class:`PromptTemplate` is the *format* (GPT3Mix's list by default: header, one line per
example, a query line); a :class:`TaskSpec` is the *task*: what the texts and labels are called
and which label word stands for each label value. Together they render every prompt the
operations need: k-shot generation, label reading (one context, one continuation per label word)
and content-free inputs for calibration.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from byod.errors import ConfigError
from byod.textlab.errors import LabelSetError, TaskNotFoundError

__all__ = [
    "PromptTemplate",
    "TaskSpec",
    "load_template",
    "load_task",
    "find_task_file",
    "packaged_tasks",
    "TEMPLATES_DIR",
]

TEMPLATES_DIR = Path(__file__).parent
_FIELDS = [
    "name",
    "language",
    "header",
    "example",
    "label_prefix",
    "label_continuation",
    "query",
    "conditional_query",
    "paraphrase",
    "list_or",
    "content_free",
]


@dataclasses.dataclass(frozen=True)
class PromptTemplate:
    """A prompt format; see ``gpt3mix-en.yaml`` for what each field means."""

    name: str
    language: str
    header: str
    example: str
    label_prefix: str
    label_continuation: str
    query: str
    conditional_query: str
    paraphrase: str
    list_or: str
    content_free: tuple[str, ...]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str) -> PromptTemplate:
        """Build from a YAML mapping; unknown or missing keys are errors naming ``source``."""
        unknown = sorted(set(raw) - set(_FIELDS))
        missing = sorted(set(_FIELDS) - set(raw))
        if unknown or missing:
            raise ConfigError(
                f"{source}: unknown keys {unknown}, missing keys {missing}; valid keys: {_FIELDS}"
            )
        return cls(**{**raw, "content_free": tuple(raw["content_free"])})


def load_template(name_or_path: str | Path) -> PromptTemplate:
    """A packaged template by name (``gpt3mix-en``, ``gpt3mix-ko``) or a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = TEMPLATES_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in TEMPLATES_DIR.glob("gpt3mix-*.yaml"))
        raise ConfigError(f"prompt template {str(name_or_path)!r} not found; packaged: {known}")
    return PromptTemplate.from_dict(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """What a classification task looks like in a prompt.

    Attributes:
        template: the prompt format.
        text_type: e.g. ``movie review`` / ``영화 리뷰``.
        label_type: e.g. ``sentiment`` / ``감정``.
        labels: label values as they appear in the data (order = probability columns).
        words: the word the LM sees for each label, same order.
    """

    template: PromptTemplate
    text_type: str
    label_type: str
    labels: tuple[str, ...]
    words: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.labels) < 2 or len(self.labels) != len(self.words):
            raise ConfigError(
                f"a task needs >= 2 labels and one word per label; got labels {self.labels} and "
                f"words {self.words}"
            )
        if len(set(self.words)) != len(self.words):
            raise ConfigError(f"label words must be distinct; got {self.words}")

    # --------------------------------------------------------------------------- rendering
    def _fill(self, pattern: str, **values: str) -> str:
        names = {
            "text_type": self.text_type,
            "label_type": self.label_type,
            "Text_type": _cap(self.text_type),
            "Label_type": _cap(self.label_type),
            "label_list": self._label_list(),
        }
        return pattern.format(**names, **values)

    def _label_list(self) -> str:
        quoted = [f"'{w}'" for w in self.words]
        return f"{', '.join(quoted[:-1])} {self.template.list_or} {quoted[-1]}"

    def word(self, label: str) -> str:
        """The prompt word for data label ``label``."""
        if label not in self.labels:
            raise LabelSetError(
                f"label {label!r} is not in the task's label set {list(self.labels)}; "
                "add it to the task (or to --labels)"
            )
        return self.words[self.labels.index(label)]

    def header(self) -> str:
        """The list's first line."""
        return self._fill(self.template.header)

    def examples_block(self, examples: Sequence[tuple[str, str]]) -> str:
        """Header plus one line per ``(text, data label)``."""
        lines = [
            self._fill(self.template.example, text=_one_line(t), label=self.word(y))
            for t, y in examples
        ]
        return self.header() + "".join(lines)

    def generation_prompt(self, examples: Sequence[tuple[str, str]]) -> str:
        """k-shot prompt that asks for one new item (text and label)."""
        return self.examples_block(examples) + self._fill(self.template.query)

    def conditional_prompt(self, label: str, examples: Sequence[tuple[str, str]] = ()) -> str:
        """Prompt that asks for one new text of data label ``label`` (zero-data generation)."""
        return self.examples_block(examples) + self._fill(
            self.template.conditional_query, label=self.word(label)
        )

    def label_context(self, examples: Sequence[tuple[str, str]], text: str) -> str:
        """Context after which each label continuation is scored."""
        return self.examples_block(examples) + self._fill(
            self.template.label_prefix, text=_one_line(text)
        )

    def paraphrase_prompt(self, text: str) -> str:
        """Prompt asking for ``text`` in other words (a strong view for consistency training)."""
        return self._fill(self.template.paraphrase, text=_one_line(text))

    def continuations(self) -> list[str]:
        """One scored string per label, in ``labels`` order."""
        return [self._fill(self.template.label_continuation, label=w) for w in self.words]

    def parse_item(self, generated: str) -> tuple[str, str | None]:
        """Split a generated item into ``(text, data label or None)``.

        ``" great fun (Sentiment: positive)"`` → ``("great fun", "fresh")``; a missing or unknown
        label word gives ``None`` (the caller retries, then drops).
        """
        pattern = rf"^(.*)\(\s*{re.escape(self.label_type)}\s*:\s*([^)]*)\)?\s*$"
        m = re.match(pattern, generated.strip(), flags=re.IGNORECASE | re.DOTALL)
        if not m:
            return generated.strip(), None
        text, word = m.group(1).strip(), m.group(2).strip().strip("'\"").casefold()
        by_word = {w.casefold(): y for w, y in zip(self.words, self.labels, strict=True)}
        return text, by_word.get(word)


def load_task(
    name_or_path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> TaskSpec:
    """A task from ``tasks.yaml`` by name, or from a YAML file with the same keys.

    Args:
        name_or_path: ``rotten-tomatoes``, ``news-sources``, ... or a path.
        labels: the label values present in the data; label values without a word in the task
            use the value itself (so a task may list no words at all).
        overrides: keys replacing the task's (``text_type``, ``label_type``, ``template``).
    """
    raw = _task_mapping(name_or_path)
    raw = {**raw, **(overrides or {})}
    valid = {"template", "text_type", "label_type", "labels"}
    if set(raw) - valid:
        raise ConfigError(
            f"task {name_or_path}: unknown keys {sorted(set(raw) - valid)}; valid: {sorted(valid)}"
        )
    words = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
    values = list(labels) if labels is not None else list(words)
    return TaskSpec(
        template=load_template(raw.get("template", "gpt3mix-en")),
        text_type=str(raw.get("text_type", "text")),
        label_type=str(raw.get("label_type", "label")),
        labels=tuple(str(v) for v in values),
        words=tuple(words.get(str(v), str(v)) for v in values),
    )


def packaged_tasks() -> list[str]:
    """Names of the tasks in the packaged ``tasks.yaml``."""
    return sorted(yaml.safe_load((TEMPLATES_DIR / "tasks.yaml").read_text(encoding="utf-8")))


def find_task_file(data: str | Path) -> Path:
    """The task file next to a data file: ``<stem>.task.yaml``, else ``task.yaml`` in its folder.

    Raises:
        TaskNotFoundError: neither exists; the message says where it looked and what to pass.
    """
    data = Path(data)
    candidates = [data.with_name(f"{data.stem}.task.yaml"), data.with_name("task.yaml")]
    for path in candidates:
        if path.is_file():
            return path
    looked = " and ".join(str(c) for c in candidates)
    raise TaskNotFoundError(
        f"no --task given and no task file next to {data} (looked for {looked}); pass --task "
        f"with a packaged task {packaged_tasks()} or a YAML file (keys: template, text_type, "
        "label_type, labels)"
    )


def _task_mapping(name_or_path: str | Path) -> dict[str, Any]:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise ConfigError(f"task file {path} not found")
        return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    tasks = yaml.safe_load((TEMPLATES_DIR / "tasks.yaml").read_text(encoding="utf-8"))
    if str(name_or_path) not in tasks:
        raise ConfigError(
            f"unknown task {str(name_or_path)!r}; packaged: {sorted(tasks)} (or a YAML file)"
        )
    return dict(tasks[str(name_or_path)])


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _one_line(text: str) -> str:
    """Items are one line each: newlines inside a text would end the item early."""
    return " ".join(str(text).split())
