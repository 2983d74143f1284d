"""Credentials: API keys for admins and partners, stored only as hashes."""
