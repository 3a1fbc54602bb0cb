"""Validate stage: the broken Dockerfile, the validity rules and the issue writer."""
