"""Built-in datasets, loaded from installed packages (never downloaded, never committed)."""

from byod.data.builtin.movielens import BUILTIN_DATASETS, load_movielens

__all__ = ["BUILTIN_DATASETS", "load_movielens"]
