"""Campaigns: selectors."""
