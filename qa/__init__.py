"""Asking: retrieval, answer assembly, citations, evaluation and the command line."""
