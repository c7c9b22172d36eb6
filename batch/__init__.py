"""Batch scoring for analysts: ``voc score`` over CSV, .xlsx, JSONL and Parquet exports, its summary pages and
the Ray path."""
