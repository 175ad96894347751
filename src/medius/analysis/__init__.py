"""The analysis layer: runs one analysis and owns its typed result (:mod:`medius.analysis.result`)."""
