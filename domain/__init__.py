"""trainerbot's pure core: models, ports and services.

Nothing here imports a third-party package except structlog.
"""
