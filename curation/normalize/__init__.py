"""Text normalization: the ``normalize`` stage (``text.py``) and its building blocks (``chars.py``, ``script.py``)."""
