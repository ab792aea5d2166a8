"""Stored-event compatibility fixtures for the aggregates (see recording.py)."""
