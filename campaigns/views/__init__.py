"""Campaigns: views."""
