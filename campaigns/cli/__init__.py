"""Campaigns: cli."""
