"""Domain services, one per feature."""
