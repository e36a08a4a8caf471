"""transformers causal LMs as an :class:`~byod.textlab.llm.base.LLM`: a folder or a GGUF file.

A GGUF file is converted once by transformers' GGUF loader into a float32 safetensors folder in
the cache (keyed by the file's sha256) and loaded from there afterwards (0.3-3 s instead of
20-90 s). Scoring keeps the key/value cache of the last context and reuses its longest common
token prefix with the next one: the few-shot block in front of every pseudo-label prompt is
evaluated once, then only each new text and its label strings are run. All label strings after
one context run as one batch on a copy of that context's cache.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from byod.assets.manifest import sha256_file
from byod.errors import ByodError
from byod.textlab.threads import torch_threads

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["TransformersLM", "convert_gguf"]


class TransformersLM:
    """A transformers causal LM with prefix-cached scoring.

    Args:
        model: a causal LM (``AutoModelForCausalLM``), evaluation mode is set here.
        tokenizer: its tokenizer.
        name: display name.
        fingerprint: identifies the weights (JSONL caches key their entries by it).
        batch_size: prompts generated together (left-padded).
        threads: torch threads while generating or scoring (``None``: leave torch's setting;
            see :mod:`byod.textlab.threads` for why the CLI gives the LLM fewer than the cores).
    """

    can_score = True

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        name: str,
        fingerprint: str,
        batch_size: int = 8,
        threads: int | None = None,
    ) -> None:
        self.model = model.eval()
        self.threads = threads
        self.tokenizer = tokenizer
        self.name = name
        self.fingerprint = fingerprint
        self.batch_size = batch_size
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._ctx_ids: list[int] = []
        self._ctx_cache: object | None = None
        self._ctx_logits: torch.Tensor | None = None
        self._cache_arg = _cache_argument(model)
        self.tokens_evaluated = 0  # context + continuation tokens run through the model (tests)

    @classmethod
    def from_folder(cls, folder: str | Path, **kwargs: object) -> TransformersLM:
        """Load a local transformers folder (never a hub id: nothing is downloaded)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = Path(folder)
        if not (folder / "config.json").exists():
            raise ByodError(f"{folder}: not a transformers model folder (no config.json)")
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        kwargs.setdefault("name", folder.name)
        kwargs.setdefault("fingerprint", _folder_fingerprint(folder))
        return cls(model, tokenizer, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_gguf(cls, gguf: str | Path, llm_dir: str | Path, **kwargs: object) -> TransformersLM:
        """Convert ``gguf`` once into ``llm_dir`` (float32 safetensors) and load that."""
        folder = convert_gguf(gguf, llm_dir)
        kwargs.setdefault("name", Path(gguf).stem)
        return cls.from_folder(folder, **kwargs)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` (no special tokens) in this model's vocabulary: tokens/s."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # ----------------------------------------------------------------------------- generation
    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 64,
        temperature: float = 0.8,
        stop: str | None = "\n",
        seed: int = 0,
    ) -> list[str]:
        """Sample one continuation per prompt, cut before ``stop``; batches are left-padded."""
        out: list[str] = []
        with torch_threads(self.threads):
            for start in range(0, len(prompts), self.batch_size):
                chunk = list(prompts[start : start + self.batch_size])
                out += self._generate_batch(chunk, max_new_tokens, temperature, stop, seed + start)
        return out

    def _generate_batch(
        self, prompts: list[str], max_new: int, temperature: float, stop: str | None, seed: int
    ) -> list[str]:
        self.tokenizer.padding_side = "left"
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True)
        sampling = {"do_sample": temperature > 0}
        if temperature > 0:
            sampling |= {"temperature": temperature, "top_p": 0.95, "top_k": 0}
        # fork_rng: sampling is reproducible per seed without touching the caller's RNG state.
        with torch.random.fork_rng(), torch.inference_mode():
            torch.manual_seed(seed)
            ids = self.model.generate(
                **enc,
                max_new_tokens=max_new,
                pad_token_id=self.tokenizer.pad_token_id,
                stopping_criteria=[_StopText(self.tokenizer, stop, enc["input_ids"].shape[1])]
                if stop
                else None,
                **sampling,
            )
        texts = self.tokenizer.batch_decode(
            ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
        )
        return [t.split(stop)[0] if stop else t for t in texts]

    # -------------------------------------------------------------------------------- scoring
    def score(self, context: str, continuations: Sequence[str]) -> np.ndarray:
        """Summed log-probability of each continuation's tokens after ``context``.

        Returns:
            ``(len(continuations),)`` float64.
        """
        if not continuations:
            return np.zeros(0)
        cont_ids = [self.tokenizer(c, add_special_tokens=False)["input_ids"] for c in continuations]
        if any(len(c) == 0 for c in cont_ids):
            raise ValueError(f"empty continuation among {list(continuations)!r}")
        with torch.inference_mode(), torch_threads(self.threads):
            last_logits = self._advance_context(self._context_ids(context))
            return self._score_continuations(last_logits, cont_ids)

    def _context_ids(self, context: str) -> list[int]:
        ids = self.tokenizer(context, add_special_tokens=True)["input_ids"]
        if not ids:  # an empty context still needs one position to predict from
            ids = [self.tokenizer.bos_token_id or self.tokenizer.eos_token_id]
        return list(ids)

    def _advance_context(self, ids: list[int]) -> torch.Tensor:
        """Bring the cached context to ``ids``; return the logits after its last token."""
        from transformers import DynamicCache

        keep = _common_prefix(self._ctx_ids, ids)
        # Re-run at least the last token: its logits predict the first continuation token.
        keep = min(keep, len(ids) - 1)
        if self._ctx_cache is None or keep == 0:
            self._ctx_cache, keep = DynamicCache(), 0
        elif self._ctx_cache.get_seq_length() > keep:
            # transformers 5: a negative count removes that many tokens from the end.
            self._ctx_cache.crop(keep - self._ctx_cache.get_seq_length())
        new = torch.tensor([ids[keep:]])
        mask = torch.ones(1, len(ids), dtype=torch.long)
        out = self.model(
            input_ids=new, attention_mask=mask, use_cache=True, **{self._cache_arg: self._ctx_cache}
        )
        self.tokens_evaluated += len(ids) - keep
        self._ctx_ids, self._ctx_cache = ids, _returned_cache(out)
        return out.logits[0, -1]

    def _score_continuations(
        self, last_logits: torch.Tensor, cont_ids: list[list[int]]
    ) -> np.ndarray:
        """Run all continuations as one right-padded batch on a copy of the context cache."""
        n, width, n_ctx = len(cont_ids), max(len(c) for c in cont_ids), len(self._ctx_ids)
        pad = self.tokenizer.pad_token_id
        tokens = torch.tensor([c + [pad] * (width - len(c)) for c in cont_ids])
        mask = torch.ones(n, n_ctx + width, dtype=torch.long)
        for i, c in enumerate(cont_ids):
            mask[i, n_ctx + len(c) :] = 0
        cache = copy.deepcopy(self._ctx_cache)
        cache.batch_repeat_interleave(n)
        logits = self.model(
            input_ids=tokens, attention_mask=mask, use_cache=True, **{self._cache_arg: cache}
        ).logits
        self.tokens_evaluated += int(sum(len(c) for c in cont_ids))
        # Position t predicts token t + 1; the context's last logits predict token 0.
        steps = torch.cat([last_logits.expand(n, 1, -1), logits[:, :-1]], dim=1)
        logp = torch.log_softmax(steps.double(), dim=-1).gather(2, tokens.unsqueeze(-1))[..., 0]
        valid = mask[:, n_ctx:].bool()
        return (logp * valid).sum(dim=1).numpy()


class _StopText:
    """Stop once every row's new text contains ``stop`` (decoded, so any tokenizer works).

    transformers' own ``stop_strings`` needs a tokenizer with a byte-level or metaspace
    decoder; decoding the few new tokens per step is cheap next to a forward pass.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, stop: str, prompt_len: int) -> None:
        self.tokenizer, self.stop, self.prompt_len = tokenizer, stop, prompt_len

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: object) -> torch.Tensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_len :])
        return torch.tensor([self.stop in t for t in texts], device=input_ids.device)


def _cache_argument(model: PreTrainedModel) -> str:
    """The name of ``forward``'s key/value cache argument in this transformers release.

    transformers 5.2x renamed ``past_key_values`` to ``cache`` (the old name warns on every call
    and goes in 5.40); older releases only know ``past_key_values``.
    """
    params = inspect.signature(model.forward).parameters  # follows the deprecation wrapper
    return "cache" if "cache" in params else "past_key_values"


def _returned_cache(out: object) -> object:
    """The cache a forward pass returned, under either name."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values  # type: ignore[attr-defined]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _folder_fingerprint(folder: Path) -> str:
    """Hash of config.json and the weight files' names, sizes and first megabyte."""
    h = hashlib.sha256((folder / "config.json").read_bytes())
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        h.update(f"{path.name}:{path.stat().st_size}".encode())
        with path.open("rb") as fh:
            h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def convert_gguf(gguf: str | Path, llm_dir: str | Path) -> Path:
    """Convert a GGUF file to a float32 transformers folder in ``llm_dir``, once.

    The folder name carries the GGUF's sha256, so a changed file converts again. The build runs
    in a temporary sibling renamed into place when complete (a crash leaves no half model).

    Returns:
        The folder (``config.json``, ``model.safetensors``, tokenizer files).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf)
    if not gguf.exists():
        raise ByodError(f"{gguf}: GGUF file not found")
    digest = sha256_file(gguf)
    target = Path(llm_dir) / f"{gguf.stem}-{digest[:16]}"
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        loaded = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # A GGUF-loaded model refuses save_pretrained ("quantized with gguf"): rebuild it plain.
        config = loaded.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(loaded.state_dict())
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.chmod(0o755)  # mkdtemp makes it owner-only; the cache is shared like any folder
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
