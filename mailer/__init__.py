"""Newsletters, meeting invitations and welcomes for a county party organisation."""

__version__ = "0.1.0"
