"""Exercise checkers."""
