"""Galaxy Zoo Cosmic Dawn (HSC) and Galaxy Zoo Euclid, which asked the Cosmic Dawn tree."""

from __future__ import annotations

from zoobot.trees.decals import desi_dependencies, desi_pairs
from zoobot.trees.dicts import Dependencies, Pairs, _add_suffix, _changed, _rename_questions

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

cosmic_dawn_dependencies: Dependencies = {
    "smooth-or-featured": None,
    "problem": "smooth-or-featured_problem",
    "artifact": "problem_artifact",
    "disk-edge-on": "smooth-or-featured_featured-or-disk",
    "clumps": "disk-edge-on_no",
    # the rest as in DECaLS DR5
    **{q: parent for q, parent in desi_dependencies.items() if q not in ("smooth-or-featured", "disk-edge-on")},
}

cosmic_dawn_ortho_pairs, cosmic_dawn_ortho_dependencies = _rename_questions(
    cosmic_dawn_pairs, cosmic_dawn_dependencies, _add_suffix("-cd")
)


# Galaxy Zoo Euclid: the Cosmic Dawn tree, with ghosts among the artifacts (suffixed -euclid in the ortho tree)

euclid_pairs: Pairs = _changed(cosmic_dawn_pairs, {"artifact": [*cosmic_dawn_pairs["artifact"], "_ghost"]})
euclid_dependencies: Dependencies = dict(cosmic_dawn_dependencies)

euclid_ortho_pairs, euclid_ortho_dependencies = _rename_questions(
    euclid_pairs, euclid_dependencies, _add_suffix("-euclid")
)
