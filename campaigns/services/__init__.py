"""Campaigns: services."""
