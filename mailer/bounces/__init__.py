"""Bounces and complaints: the envelope sender that names a delivery, reading what comes back,
and what it changes (suppressions, the list for the register)."""
