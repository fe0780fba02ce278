"""``exact_dedup``: remove documents whose normalized text equals an earlier one's; same passes as minhash_dedup.

In: documents with unique ids. Out: one survivor per group of equal normalized texts (``curation.dedup.exact``
documents the normalizations and the 64-bit hash); kept documents get ``exact_dup_cluster_id`` and
``exact_dup_cluster_size``; removed ones go to ``removed/exact_dedup/`` with reason ``exact_duplicate`` and
``dup_of`` = the survivor's id. Documents with nothing left after ``alnum`` normalization are never removed here.

Reason code: ``exact_duplicate``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from curation.dedup.clusters import SURVIVOR_POLICIES
from curation.dedup.exact import NORMALIZATIONS
from curation.dedup.passes import DedupPass, DuplicateFilter, ExactSignatures, dedup_passes, load_reference_manifest
from curation.registry import register

REASON = "exact_duplicate"


@register("exact_dedup")
class ExactDedup:
    """Remove exact duplicates after normalization, keeping one survivor per group.

    Args:
        normalization: "alnum" compares lower-cased letters and digits only, "whitespace" ignores whitespace,
            "none" compares the text as is.
        survivor: which document of a group stays: "first" (smallest id), "longest", "best_quality".
        quality_key: metadata key of the score for survivor "best_quality", e.g. the classifier stage's quality_model.
        shards: hash shards = tasks of the bucket pass.
        against: manifest.json files of earlier shard sets (relative to the working directory): their documents
            are never removed, and new documents that duplicate them (or share their id) are, with dup_of_manifest.
    """

    reasons: ClassVar[dict[str, str]] = {REASON: "equal normalized text to the group's survivor"}
    output_fields: ClassVar[dict[str, str]] = {
        "exact_dup_cluster_id": "smallest id of the group (its own id without duplicates)",
        "exact_dup_cluster_size": "documents in the group (1 without duplicates)",
        "dup_of": "removed documents: the survivor's id",
        "dup_of_manifest": "removed by an earlier set (against): that set's manifest",
    }

    def __init__(
        self,
        normalization: Literal["none", "whitespace", "alnum"] = "alnum",
        survivor: Literal["first", "longest", "best_quality"] = "first",
        quality_key: str = "quality_model",
        shards: int = 4,
        against: list[str] | None = None,
    ):
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        if survivor not in SURVIVOR_POLICIES:
            raise ValueError(f"survivor must be one of {SURVIVOR_POLICIES}, got {survivor!r}")
        if shards < 1:
            raise ValueError("shards must be >= 1")
        self.normalization = normalization
        self.survivor = survivor
        self.quality_key = quality_key
        self.shards = shards
        for manifest in against or []:
            load_reference_manifest(manifest)
        self.against = list(against) if against else None

    def passes(self, work_dir: str) -> list[DedupPass]:
        """The executor passes (four, five with ``against``); ``work_dir`` holds their intermediate files."""
        return dedup_passes(
            ExactSignatures(work_dir, self.normalization, self.shards, self.quality_key, id_band=bool(self.against)),
            self.against,
            self.shards,
            self.survivor,
            None,
            DuplicateFilter(work_dir, "exact_dedup", REASON, "exact_dup_"),
        )
