"""recommenders."""
