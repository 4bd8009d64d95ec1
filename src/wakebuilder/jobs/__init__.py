"""Persistent training and cache-build jobs: a SQLite store and worker processes."""
