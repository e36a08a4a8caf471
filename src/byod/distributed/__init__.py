"""byod beyond one machine: the same pipeline on Ray (optional extra ``byod[ray]``).

Nothing here imports Ray at import time; :func:`require_ray` does, when a ``--backend ray``
command asks for it. On one machine Ray's start-up and scheduling cost more than they save (the
Polars + one-process default stays the fast path); Ray pays off when the data or the contrastive
batch outgrow one machine.

Modules:
    ``ray_data``: ``byod data ingest|serialize --backend ray`` and ``byod embed --backend ray``
        (Ray Data: parallel Parquet in, per-partition byod row logic, parallel Parquet out).
    ``ray_train``: ``byod pretrain --backend ray --workers N`` (Ray Train ``TorchTrainer``).
    ``gather``: contrastive negatives gathered across workers, gradients through the gather.
"""

from byod.distributed.runtime import BACKENDS, check_backend, require_ray

__all__ = ["BACKENDS", "check_backend", "require_ray"]
