"""Galaxy Zoo JWST (CEERS)."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs

# Galaxy Zoo JWST (CEERS)

jwst_ortho_pairs: Pairs = {
    "smooth-or-featured-jwst": ["_smooth", "_featured-or-disk", "_star-artifact-zoom"],
    "disk-edge-on-jwst": ["_yes", "_no"],
    "has-spiral-arms-jwst": ["_yes", "_no"],
    "bar-jwst": ["_strong", "_weak", "_no"],
    "bulge-size-jwst": ["_dominant", "_large", "_moderate", "_small", "_none"],
    "how-rounded-jwst": ["_round", "_in-between", "_cigar-shaped"],
    "edge-on-bulge-jwst": ["_boxy", "_none", "_rounded"],
    "spiral-winding-jwst": ["_tight", "_medium", "_loose"],
    "spiral-arm-count-jwst": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
    "clumps-jwst": ["_yes", "_no"],
    "merging-jwst": ["_none", "_minor-disturbance", "_major-disturbance", "_merger"],
    "problem-jwst": ["_star", "_artifact", "_bad-zoom"],
}

jwst_ortho_dependencies: Dependencies = {
    "smooth-or-featured-jwst": None,
    "disk-edge-on-jwst": "smooth-or-featured-jwst_featured-or-disk",
    "has-spiral-arms-jwst": "disk-edge-on-jwst_no",
    "bar-jwst": "disk-edge-on-jwst_no",
    "bulge-size-jwst": "disk-edge-on-jwst_no",
    "how-rounded-jwst": "smooth-or-featured-jwst_smooth",
    "edge-on-bulge-jwst": "disk-edge-on-jwst_yes",
    "spiral-winding-jwst": "has-spiral-arms-jwst_yes",
    "spiral-arm-count-jwst": "has-spiral-arms-jwst_yes",
    "merging-jwst": None,
    "clumps-jwst": None,
    "problem-jwst": "smooth-or-featured-jwst_star-artifact-zoom",
}
