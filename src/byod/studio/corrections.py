"""The label audit's suggested corrections, accepted or rejected one by one on the text page.

An ``audit`` job (:func:`byod.studio.textjobs.run_audit`) writes its suggestions; a person's
decisions go to ``decisions.json`` in the job's folder (written atomically), so a reload shows
them again. Accepting one rewrites the labels file the audit read (atomically: a crash leaves
the old file or the new one, never half of each) and moves the example to its new label's box.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from byod.atomic import write_csv, write_json
from byod.errors import ByodError
from byod.studio.textflow import TextDraft

__all__ = [
    "DECISIONS",
    "audit_view",
    "decide",
    "correct_labels_file",
    "move_example",
    "write_labels_file",
]

DECISIONS = "decisions.json"
_LOCK = threading.Lock()  # one decision at a time: each reads, changes and rewrites two files


def _suggestions(state: dict[str, Any]) -> dict[str, Any] | None:
    path = state.get("outputs", {}).get("audit")
    if not path or not Path(path).exists():
        return None
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _decisions(folder: Path) -> dict[str, str]:
    path = folder / DECISIONS
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def audit_view(folder: Path, state: dict[str, Any]) -> dict[str, Any] | None:
    """The suggestions with their decisions and the counts; None before the job wrote them.

    The counts add up: suggested = accepted + rejected + pending.
    """
    data = _suggestions(state)
    if data is None:
        return None
    decided = _decisions(folder)
    rows = [s | {"decision": decided.get(str(s["row"]), "pending")} for s in data["suggestions"]]
    counts = {d: sum(r["decision"] == d for r in rows) for d in ("accepted", "rejected", "pending")}
    return {
        "rows": rows,
        "counts": {"suggested": len(rows), **counts},
        "n": data["n"],
        "labels_file": data["labels_file"],
        "next": next((r["row"] for r in rows if r["decision"] == "pending"), None),
    }


def write_labels_file(draft: TextDraft, path: Path) -> Path:
    """The page's examples as the labels file an audit reads (``text,label``), atomically."""
    import polars as pl

    texts, labels = draft.pairs()
    if not texts:
        raise ByodError("give some examples first (paste them or load a file)")
    return write_csv(pl.DataFrame({"text": texts, "label": labels}), path)


def correct_labels_file(path: Path, row: int, text: str, given: str, suggested: str) -> None:
    """Relabel one example of the labels file and rewrite the file atomically.

    The example is the file's ``row`` if it still holds ``text`` labelled ``given``, else the
    first row that does (the file was rewritten since the audit).

    Raises:
        ByodError: no row holds this text with the given label any more.
    """
    import polars as pl

    from byod.tabular import read_table

    df = read_table(path, text_columns=("text", "label"))
    labels = df["label"].cast(pl.String).to_list()
    texts = df["text"].to_list()
    if not (0 <= row < len(texts) and texts[row] == text and labels[row] == given):
        row = next((i for i, (t, y) in enumerate(zip(texts, labels, strict=True))
                    if t == text and y == given), -1)  # fmt: skip
    if row < 0:
        raise ByodError(
            f"{path.name}: no example {text[:60]!r} labelled {given!r} any more "
            "(the labels changed since this audit); run the audit again"
        )
    labels[row] = suggested
    write_csv(df.with_columns(pl.Series("label", labels, dtype=pl.String)), path)


def move_example(draft: TextDraft, text: str, given: str, suggested: str) -> None:
    """Move ``text`` from its given label's examples to the suggested label's (if named)."""
    if suggested not in draft.labels:
        return
    box = draft.examples.get(given, [])
    if text in box:
        box.remove(text)
    target = draft.examples.setdefault(suggested, [])
    if text not in target:
        target.append(text)


def decide(
    folder: Path, state: dict[str, Any], row: int, decision: str, draft: TextDraft
) -> dict[str, Any]:
    """Record ``accept`` or ``reject`` for the suggestion of ``row``; return the suggestion.

    An accept corrects the labels file and moves the example in ``draft``.

    Raises:
        ByodError: an unknown row or decision, or one already decided.
    """
    if decision not in ("accept", "reject"):
        raise ByodError(f"decision must be accept or reject, got {decision!r}")
    data = _suggestions(state)
    if data is None:
        raise ByodError("this audit has no suggestions yet")
    found = next((s for s in data["suggestions"] if s["row"] == row), None)
    if found is None:
        raise ByodError(f"the audit suggested nothing for row {row}")
    with _LOCK:
        decided = _decisions(folder)
        if str(row) in decided:
            raise ByodError(f"row {row} was already {decided[str(row)]}")
        if decision == "accept":
            correct_labels_file(Path(data["labels_file"]), row, found["text"], found["given"],
                                found["suggested"])  # fmt: skip
            move_example(draft, found["text"], found["given"], found["suggested"])
        decided[str(row)] = "accepted" if decision == "accept" else "rejected"
        write_json(decided, folder / DECISIONS)
    return found
