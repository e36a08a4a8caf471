"""Background jobs: one worker process per job, its state in a JSON file that outlives the page.

A job folder holds ``spec.json`` (what to do), ``state.json`` (written by the worker: status,
stage, fraction done, rate, ETA, the error line, what was written) and ``log.txt`` (the worker's
output). The server only starts processes and reads files, so a job never blocks it, and a page
reload (or a studio restart) finds every job where it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from byod.atomic import write_json
from byod.errors import ByodError

__all__ = ["JobStore", "ACTIVE", "FINAL"]

ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "cancelled")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobStore:
    """Jobs under ``root``: start, read, cancel.

    Args:
        root: the jobs folder (one sub-folder per job).
        env: extra environment for the workers (e.g. thread limits).
    """

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.env = env or {}
        self._procs: dict[str, subprocess.Popen] = {}

    def start(self, kind: str, spec: dict[str, Any]) -> str:
        """Write the job's spec, start its worker process and return the job id."""
        job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        folder = self.root / job_id
        folder.mkdir(parents=True)
        write_json({"kind": kind, **spec}, folder / "spec.json")
        now = time.time()
        write_json(
            {
                "id": job_id,
                "kind": kind,
                "status": "queued",
                "stage": None,
                "fraction": 0.0,
                "started_at": now,
                "updated_at": now,
                "error": None,
                "outputs": {},
            },
            folder / "state.json",
        )
        env = {**os.environ, **self.env}
        with open(folder / "log.txt", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "byod.studio.worker", str(folder)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # a cancel stops the worker and its children only
            )
        write_json(proc.pid, folder / "pid.json")
        self._procs[job_id] = proc
        return job_id

    def folder(self, job_id: str) -> Path:
        """The job's folder (a ByodError for an unknown id)."""
        folder = self.root / job_id
        if "/" in job_id or ".." in job_id or not (folder / "spec.json").is_file():
            raise ByodError(f"no job {job_id!r} in {self.root}")
        return folder

    def spec(self, job_id: str) -> dict[str, Any]:
        """What the job was asked to do."""
        return _read_json(self.folder(job_id) / "spec.json") or {}

    def state(self, job_id: str) -> dict[str, Any]:
        """The job's state; a worker gone without a final word reads as failed."""
        folder = self.folder(job_id)
        state = _read_json(folder / "state.json") or {"id": job_id, "status": "queued"}
        if state.get("status") in ACTIVE and not self._running(job_id, folder):
            time.sleep(0.2)  # the worker may have written its last state just now
            state = _read_json(folder / "state.json") or state
            if state.get("status") in ACTIVE:
                state["status"] = "failed"
                state["error"] = "the worker process stopped without a word; see log.txt"
        return state

    def _running(self, job_id: str, folder: Path) -> bool:
        proc = self._procs.get(job_id)
        if proc is not None:
            return proc.poll() is None
        pid = _read_json(folder / "pid.json")
        return isinstance(pid, int) and _alive(pid)

    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every job's state, newest first (``kind``: only that kind)."""
        states = [
            self.state(p.name)
            for p in sorted(self.root.iterdir(), reverse=True)
            if (p / "spec.json").is_file()
        ]
        return [s for s in states if kind is None or s.get("kind") == kind]

    def latest(self, kind: str, status: str | None = None) -> dict[str, Any] | None:
        """The newest job of ``kind`` (with ``status``, if given)."""
        for s in self.list(kind):
            if status is None or s.get("status") == status:
                return s
        return None

    def cancel(self, job_id: str, wait_s: float = 10.0) -> dict[str, Any]:
        """Stop a running job: SIGTERM (the worker records ``cancelled``), SIGKILL if it hangs."""
        folder = self.folder(job_id)
        pid = _read_json(folder / "pid.json")
        if self.state(job_id).get("status") not in ACTIVE or not isinstance(pid, int):
            return self.state(job_id)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and self._running(job_id, folder):
            time.sleep(0.1)
        if self._running(job_id, folder):
            os.killpg(pid, signal.SIGKILL)
        proc = self._procs.pop(job_id, None)
        if proc is not None:
            proc.wait(timeout=wait_s)
        state = _read_json(folder / "state.json") or {}
        if state.get("status") in ACTIVE:  # killed before it could write
            state.update(status="cancelled", updated_at=time.time())
            write_json(state, folder / "state.json")
        return state
