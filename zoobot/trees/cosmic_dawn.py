"""Galaxy Zoo Cosmic Dawn (HSC) and Galaxy Zoo Euclid, which asked the Cosmic Dawn tree."""

from __future__ import annotations

from zoobot.trees.decals import desi_dependencies, desi_pairs
from zoobot.trees.dicts import Dependencies, Pairs, _added_after, _changed, _with_suffix

# Galaxy Zoo Cosmic Dawn (HSC): the DECaLS DR5 tree (problem in place of artifact) plus clumps and a
# problem branch. Its questions are suffixed -cd in the ortho tree.

cosmic_dawn_pairs: Pairs = _changed(
    desi_pairs,
    {
        "smooth-or-featured": ["_smooth", "_featured-or-disk", "_problem"],
        "clumps": ["_yes", "_no"],
        "problem": ["_star", "_artifact", "_zoom"],
        "artifact": ["_satellite", "_scattered", "_diffraction", "_ray", "_saturation", "_other"],
    },
)

cosmic_dawn_dependencies: Dependencies = _added_after(
    desi_dependencies,
    {
        "smooth-or-featured": {"problem": "smooth-or-featured_problem", "artifact": "problem_artifact"},
        "disk-edge-on": {"clumps": "disk-edge-on_no"},
    },
)

cosmic_dawn_ortho_pairs, cosmic_dawn_ortho_dependencies = _with_suffix(
    cosmic_dawn_pairs, cosmic_dawn_dependencies, "-cd"
)


# Galaxy Zoo Euclid: the Cosmic Dawn tree, with ghosts among the artifacts (suffixed -euclid in the ortho tree)

euclid_pairs: Pairs = _changed(cosmic_dawn_pairs, {"artifact": [*cosmic_dawn_pairs["artifact"], "_ghost"]})
euclid_dependencies: Dependencies = dict(cosmic_dawn_dependencies)

euclid_ortho_pairs, euclid_ortho_dependencies = _with_suffix(euclid_pairs, euclid_dependencies, "-euclid")
