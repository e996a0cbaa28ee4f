"""Alembic migrations, installed as the package `icdcoder_migrations` (see pyproject.toml)."""
