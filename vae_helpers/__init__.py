"""Helpers behind the vae-notebooks series."""
