"""Galaxy Zoo Rings: one yes/no question."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs

# Galaxy Zoo Rings

rings_pairs: Pairs = {"ring": ["_yes", "_no"]}
rings_dependencies: Dependencies = {"ring": None}
