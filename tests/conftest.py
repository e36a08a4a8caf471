from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from byod.data.schema import EVENT_SCHEMA
from byod.data.serialize import SerializeConfig, serialize
from byod.encoders.hashing import HashingBackbone

WORDS = ["action", "drama", "comedy", "horror", "space", "love", "war", "kids", "music", "crime"]


def make_events(n_users: int = 40, seed: int = 0) -> pl.DataFrame:
    """Users with a taste (a few favourite words) spread over three services, many time ties."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    seq = 0
    for u in range(n_users):
        taste = rng.choice(WORDS, 3, replace=False)
        for _ in range(rng.integers(6, 20)):
            seq += 1
            words = " ".join(rng.choice(taste, 2))
            rows.append(
                {
                    "user_id": f"u{u}",
                    "timestamp": t0 + timedelta(hours=int(rng.integers(0, 500))),
                    "service": str(rng.choice(["shop", "search", "news"])),
                    "text": f"{words} item {rng.integers(0, 30)}",
                    "item_id": None,
                    "seq": seq,
                }
            )
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


@pytest.fixture(scope="session")
def events() -> pl.DataFrame:
    return make_events()


@pytest.fixture(scope="session")
def histories(events: pl.DataFrame) -> pl.DataFrame:
    return serialize(events, SerializeConfig(max_events=32))


@pytest.fixture(scope="session")
def backbone() -> HashingBackbone:
    return HashingBackbone(dim=32)


def build_tiny_st(tmp: Path, words: list[str], *, lower_case: bool = True) -> Path:
    """A tiny BERT sentence-transformers folder over ``words`` in ``tmp`` (built offline)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (tmp / "vocab.txt").write_text("\n".join(vocab))
    bert = tmp / "bert"
    # transformers 5's fast tokenizer ignores `vocab_file` (every word became [UNK]): pass the dict.
    BertTokenizerFast(
        vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=lower_case
    ).save_pretrained(bert)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=128,
    )  # fmt: skip
    BertModel(config).save_pretrained(bert)
    model = SentenceTransformer(
        modules=[Transformer(str(bert), max_seq_length=64), Pooling(16, "mean")]
    )
    model.save(str(tmp / "st"))
    return tmp / "st"


@pytest.fixture(scope="session")
def tiny_st_builder():  # noqa: ANN201
    """``build_tiny_st`` for conftests below this one (a fixture: importing ``conftest`` by name
    reaches whichever conftest module was imported last)."""
    return build_tiny_st


@pytest.fixture(scope="session")
def tiny_st_folder(tmp_path_factory) -> Path:
    """A tiny BERT sentence-transformers folder (a backbone usable by path, built offline)."""
    words = [*WORDS, "item", *map(str, range(30))]
    return build_tiny_st(tmp_path_factory.mktemp("tiny-st"), words)
