"""Catalog exporters: plain Python over `TaskExport` records (no Django), so they stay testable.

`bundle.build_zip` assembles the formats (harbor/, tb1/, manifest.jsonl) into one deterministic zip.
"""
