"""PyTorch view of a packed tokenized set (imported only when torch is installed; see reader.py)."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from curation.tokenize.reader import TokenizedSet


def _dist_rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


class PackedRowsDataset(IterableDataset):
    """Rows of `seq_len` int64 token ids; split by rank, then by DataLoader worker (`TokenizedSet.iter_rows`)."""

    def __init__(self, manifest: str, rank: int | None = None, world_size: int | None = None):
        super().__init__()
        self.manifest = manifest
        default_rank, default_world = _dist_rank_world()
        self.rank = default_rank if rank is None else rank
        self.world_size = default_world if world_size is None else world_size

    def __iter__(self):
        info = get_worker_info()
        workers, worker_id = (info.num_workers, info.id) if info else (1, 0)
        ts = TokenizedSet(self.manifest)
        for row in ts.iter_rows(self.rank, self.world_size, workers, worker_id):
            # uint16 has no torch equivalent for embedding lookups; int64 is what nn.Embedding takes
            yield torch.from_numpy(row.astype(np.int64))
