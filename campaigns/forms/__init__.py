"""Campaigns: forms."""
