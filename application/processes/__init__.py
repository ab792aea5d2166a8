"""Process policies: followers of the event log that turn recorded events into commands."""
