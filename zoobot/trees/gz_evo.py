"""GZ Evo v1: the campaigns Zoobot 2.x pretrains on, side by side in one tree."""

from __future__ import annotations

from zoobot.trees.cosmic_dawn import cosmic_dawn_ortho_dependencies, cosmic_dawn_ortho_pairs
from zoobot.trees.decals import decals_all_campaigns_ortho_pairs, decals_ortho_dependencies
from zoobot.trees.dicts import Dependencies, Pairs
from zoobot.trees.gz2 import gz2_ortho_dependencies, gz2_ortho_pairs
from zoobot.trees.hst import (
    candels_ortho_dependencies,
    candels_ortho_pairs,
    hubble_ortho_dependencies,
    hubble_ortho_pairs,
)

# every campaign that Zoobot 2.x pretrains on, side by side

gz_evo_v1_pairs: Pairs = {
    **decals_all_campaigns_ortho_pairs,
    **gz2_ortho_pairs,
    **candels_ortho_pairs,
    **hubble_ortho_pairs,
    **cosmic_dawn_ortho_pairs,
}
gz_evo_v1_dependencies: Dependencies = {
    **decals_ortho_dependencies,
    **gz2_ortho_dependencies,
    **candels_ortho_dependencies,
    **hubble_ortho_dependencies,
    **cosmic_dawn_ortho_dependencies,
}
