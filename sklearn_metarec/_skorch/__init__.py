"""_skorch."""
