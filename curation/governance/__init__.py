"""Data governance: licence / source provenance counts (provenance.py), URL and host normalization (urls.py), an
RFC 9309 robots.txt matcher (robots.py) used by the `optout` stage (curation/filter/optout.py), and
`curate takedown` (takedown.py, cli.py)."""
