"""Database layer: declarative base, models, engine configuration and migrations."""
