"""Bulk import of every entity from CSV, JSON Lines or Parquet files."""
