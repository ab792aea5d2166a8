"""Prometheus metrics: what the node does, counted from its events and read at scrape time."""
