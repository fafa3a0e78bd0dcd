"""GZ Evo: the campaigns Zoobot 2.x pretrains on, side by side in one tree (versions 1 and 2).

Each version comes as the full tree and as the public one (galaxy-datasets' ``internal=False``: without the
campaigns whose votes are not public, Cosmic Dawn, and in v2 Euclid). Version 2 replaces GZ Hubble by its
version 2 tree and adds Euclid.
"""

from __future__ import annotations

from zoobot.trees.cosmic_dawn import (
    cosmic_dawn_ortho_dependencies,
    cosmic_dawn_ortho_pairs,
    euclid_ortho_dependencies,
    euclid_ortho_pairs,
)
from zoobot.trees.decals import decals_all_campaigns_ortho_pairs, decals_ortho_dependencies
from zoobot.trees.dicts import Dependencies, Pairs
from zoobot.trees.gz2 import gz2_ortho_dependencies, gz2_ortho_pairs
from zoobot.trees.hst import (
    candels_ortho_dependencies,
    candels_ortho_pairs,
    hubble_ortho_dependencies,
    hubble_ortho_pairs,
    hubble_v2_ortho_dependencies,
    hubble_v2_ortho_pairs,
)

# GZ Evo v1: every campaign that Zoobot 2.0 pretrains on

gz_evo_v1_public_pairs: Pairs = {
    **decals_all_campaigns_ortho_pairs,
    **gz2_ortho_pairs,
    **candels_ortho_pairs,
    **hubble_ortho_pairs,
}
gz_evo_v1_public_dependencies: Dependencies = {
    **decals_ortho_dependencies,
    **gz2_ortho_dependencies,
    **candels_ortho_dependencies,
    **hubble_ortho_dependencies,
}
gz_evo_v1_pairs: Pairs = {**gz_evo_v1_public_pairs, **cosmic_dawn_ortho_pairs}
gz_evo_v1_dependencies: Dependencies = {**gz_evo_v1_public_dependencies, **cosmic_dawn_ortho_dependencies}

# GZ Evo v2: Hubble's version 2 tree, and Euclid

gz_evo_v2_public_pairs: Pairs = {
    **decals_all_campaigns_ortho_pairs,
    **gz2_ortho_pairs,
    **candels_ortho_pairs,
    **hubble_v2_ortho_pairs,
}
gz_evo_v2_public_dependencies: Dependencies = {
    **decals_ortho_dependencies,
    **gz2_ortho_dependencies,
    **candels_ortho_dependencies,
    **hubble_v2_ortho_dependencies,
}
gz_evo_v2_pairs: Pairs = {**gz_evo_v2_public_pairs, **cosmic_dawn_ortho_pairs, **euclid_ortho_pairs}
gz_evo_v2_dependencies: Dependencies = {
    **gz_evo_v2_public_dependencies,
    **cosmic_dawn_ortho_dependencies,
    **euclid_ortho_dependencies,
}
