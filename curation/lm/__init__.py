"""CCNet-style language models: a character (or SentencePiece piece) n-gram LM with modified Kneser-Ney smoothing,
trained offline by ``curate lm train``, calibrated by ``curate lm calibrate``, used by the ``perplexity`` stage."""
