"""The HTTP client that tells our connector of incoming settlements (RFC 0038)."""
