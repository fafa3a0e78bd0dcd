"""Zoobot 2.x import path, kept for existing scripts: thin re-exports of the real modules."""
