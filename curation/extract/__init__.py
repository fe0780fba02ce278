"""HTML -> main text: the ``extract`` stage (``html.py``) and its trafilatura wrapper (``engines.py``)."""
