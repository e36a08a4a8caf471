"""Step 5, text tasks: labels and a few examples, the LLM's soft labels, a classifier, deployed.

The prompt and soft labels for a test sentence come back in the request (the LLM is kept
loaded); training is a job; the deployment joins a build's user table, or serves the text
classifiers alone (a text-only deployment). Generation from label names, pseudo-labels and the
label audit are in :mod:`byod.studio.routers.textdata`.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from byod.errors import ByodError
from byod.studio.pages import render, save_upload, upload_name, workspace
from byod.studio.routers.jobs import job_card
from byod.studio.routers.tasks import built
from byod.studio.softlabels import DEFAULT_THRESHOLD
from byod.studio.textflow import (
    LLM_CHOICES,
    TEMPLATES,
    TextDraft,
    draft_from_form,
    held_out_split,
    task_of,
    try_sentence,
)
from byod.studio.workspace import Workspace
from byod.tabular import read_table

router = APIRouter()

TEXT_BACKBONES = ("e5-small", "minilm")  # e5-small: multilingual (Korean); minilm: English
TEXT_JOBS = ("text", "augment", "generate", "pseudolabel", "audit")  # the text page's jobs
DEFAULT = TextDraft(labels=["긍정", "부정"], examples={"긍정": [], "부정": []})


def saved_draft(request: Request) -> TextDraft:
    """The text page's last labels and examples (the default pair before any)."""
    saved = workspace(request).text_draft or dataclasses.asdict(DEFAULT)  # a copy: callers edit it
    return TextDraft(**saved)


def fields_view(
    request: Request, draft: TextDraft, *, labels: bool = True, **extra: Any
) -> HTMLResponse:
    """One example box per label, and the labels field out of band when ``labels``.

    Not while the user edits the labels: re-drawing the focused input drops its focus and any
    event that reaches it during the swap.
    """
    return render(
        request, "_text_fields.html", draft=draft, templates=TEMPLATES, oob_labels=labels, **extra
    )


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form's fields, as strings."""
    return {k: str(v) for k, v in (await request.form()).items()}


def job_models(ws: Workspace, form: dict[str, str]) -> dict[str, Any]:
    """The LLM and the folders every text job is given."""
    s = ws.settings
    return {
        "llm": form.get("llm", "").strip() or LLM_CHOICES[0],
        "llm_dir": str(s.llm_dir),
        "models_dir": str(s.models_dir) if s.models_dir else None,
        "vector_cache_dir": str(s.vector_cache_dir) if s.vector_cache_dir else None,
    }


def checked_draft(ws: Workspace, form: dict[str, str]) -> TextDraft:
    """The form's labels and examples, checked as a task and remembered."""
    draft = draft_from_form(form)
    task_of(draft)  # a bad label set is said before a job starts
    ws.put_text_draft(dataclasses.asdict(draft))
    return draft


@router.get("/text")
def text_page(request: Request) -> HTMLResponse:
    """The text page: the task form, the playground, training and deploy."""
    ws = workspace(request)
    return render(
        request,
        "text.html",
        draft=saved_draft(request),
        templates=TEMPLATES,
        llms=LLM_CHOICES,
        backbones=TEXT_BACKBONES,
        builds=built(ws.jobs),
        jobs=[j for j in ws.jobs.list() if j.get("kind") in TEXT_JOBS],
        threshold=DEFAULT_THRESHOLD,
    )


@router.post("/text/fields")
async def fields(request: Request) -> HTMLResponse:
    """Re-draw one example box per label after the labels changed (what was typed stays)."""
    try:
        draft = draft_from_form(await form_fields(request))
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    return fields_view(request, draft, labels=False)


@router.post("/text/upload")
async def upload(request: Request, file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Examples from a CSV / TSV / JSONL / Parquet file with ``text`` and ``label`` columns."""
    target = await save_upload(request, file, "text", upload_name(file, "examples.csv"))
    try:
        df = read_table(target, text_columns=("text", "label"))
        missing = {"text", "label"} - set(df.columns)
        if missing:
            raise ByodError(f"{target.name}: needs columns text and label; it has {df.columns}")
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    df = df.drop_nulls(["text", "label"])
    labels = list(dict.fromkeys(str(y) for y in df["label"].to_list()))
    examples = {y: [] for y in labels}
    for text, label in df.select("text", "label").iter_rows():
        examples[str(label)].append(" ".join(str(text).split()))
    old = saved_draft(request)
    draft = TextDraft(labels, examples, old.text_type, old.label_type, old.template)
    workspace(request).put_text_draft(dataclasses.asdict(draft))
    return fields_view(request, draft, loaded=f"{target.name}: {df.height}")


@router.post("/text/try")
async def try_it(request: Request) -> HTMLResponse:
    """The prompt byod builds for the test sentence and the LLM's soft labels."""
    ws = workspace(request)
    form = await form_fields(request)
    try:
        draft = checked_draft(ws, form)  # a bad label set is said before an LLM loads
        llm = await run_in_threadpool(ws.llms.get, form.get("llm") or LLM_CHOICES[0])
        result = await run_in_threadpool(
            try_sentence, llm, draft, form.get("sentence", ""),
            calibrated=form.get("calibrate") == "on",
        )  # fmt: skip
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    return render(request, "_text_try.html", result=result)


@router.post("/text/generate")
async def generate(request: Request) -> HTMLResponse:
    """Start an augment job: the LLM writes new examples from k-shot prompts of these."""
    ws = workspace(request)
    form = await form_fields(request)
    try:
        draft = checked_draft(ws, form)
        if any(not draft.examples.get(y) for y in draft.labels):
            raise ByodError("give at least one example per label first")
        n = int(form.get("n") or 4)
        if not 1 <= n <= 64:
            raise ByodError("generate between 1 and 64 examples")
    except (ByodError, ValueError) as exc:
        return render(request, "_error.html", error=str(exc))
    spec = {
        "draft": dataclasses.asdict(draft),
        "n": n,
        "backbone": form.get("backbone", "").strip() or "none",
        **job_models(ws, form),
    }
    return job_card(request, ws.jobs.state(ws.jobs.start("augment", spec)))


@router.post("/text/accept")
async def accept(request: Request) -> HTMLResponse:
    """Add the generated examples a person ticked to the examples (the rest are rejected)."""
    import json

    ws = workspace(request)
    form = await request.form()
    try:
        draft = draft_from_form({k: str(v) for k, v in form.items()})
        state = ws.jobs.state(str(form.get("job", "")))
        path = Path(state["outputs"]["generated"])
        rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    except (ByodError, KeyError) as exc:
        return render(request, "_error.html", error=str(exc))
    picked = {int(i) for i in form.getlist("accept") if str(i).isdigit()}
    added = 0
    for i, row in enumerate(rows):
        box = draft.examples.get(row["label"])
        if i in picked and box is not None and row["text"] not in box:
            box.append(row["text"])
            added += 1
    ws.put_text_draft(dataclasses.asdict(draft))
    return fields_view(request, draft, added=f"{added} / {len(rows)}")


@router.post("/text/train")
async def train(request: Request) -> HTMLResponse:
    """Start a text job: HyperMatch on the examples, accuracy on the held-out ones."""
    ws = workspace(request)
    form = await form_fields(request)
    try:
        draft = checked_draft(ws, form)
        held_out_split(draft.pairs()[1])  # two examples per label, before a job starts
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    name = re.sub(r"[^A-Za-z0-9_-]", "_", form.get("name", "").strip()) or "sentiment"
    spec = {
        "draft": dataclasses.asdict(draft),
        "name": name,
        "backbone": form.get("backbone", "").strip() or TEXT_BACKBONES[0],
        **job_models(ws, form),
        "llm": form.get("teacher") or "none",  # the teacher, not the playground's LLM
    }
    return job_card(request, ws.jobs.state(ws.jobs.start("text", spec)))


def _served_jobs(ws: Workspace, build: str, replaced: str | None) -> tuple[list[str], list[str]]:
    """The jobs behind what is served now, so a new deployment keeps serving it.

    The heads trained on ``build`` whose task is served, and the newest text job of each served
    classifier (but the one named ``replaced``, which the new classifier takes over).
    """
    served = (ws.service.current or {}).get("heads", {})
    done = [j for j in ws.jobs.list() if j.get("status") == "done"]
    heads = [j["id"] for j in done if j.get("kind") == "classify"
             and ws.jobs.spec(j["id"]).get("build") == build
             and ws.jobs.spec(j["id"]).get("task") in served]  # fmt: skip
    newest: dict[str, str] = {}
    for j in reversed(done):  # oldest first: the newest job of a name wins
        name = j.get("name")
        if j.get("kind") == "text" and name in served and name != replaced:
            newest[name] = j["id"]
    return heads, list(newest.values())


@router.post("/text/deploy")
def deploy(
    request: Request, text: Annotated[str, Form()], build: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """A deployment of this text classifier with a build's users, or alone (no ``build``).

    The text classifiers served now stay, and so do the build's served heads.
    """
    from byod.studio.routers.deploy import deploy_spec

    ws = workspace(request)
    try:
        heads, texts = _served_jobs(ws, build, ws.jobs.state(text).get("name"))
        spec = deploy_spec(ws, build, heads if build else [], [*texts, text])
    except ByodError as exc:
        return render(request, "_error.html", error=str(exc))
    return job_card(request, ws.jobs.state(ws.jobs.start("deploy", spec)))
