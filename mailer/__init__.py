"""Newsletters, meeting invitations and welcomes for a county party organisation."""

__version__ = "0.1.0"

UMASK = 0o077
"""What every command runs with: what it creates is its owner's alone (members' data, GDPR Art. 9)."""
