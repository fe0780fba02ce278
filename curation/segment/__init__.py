"""Segmentation: the ``sentences`` stage (``sentences.py``: Chinese, English and mixed sentence boundaries)."""
