"""Galaxy Zoo Cosmic Dawn (HSC) and Galaxy Zoo Euclid, which asked the Cosmic Dawn tree."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs, _remove_suffix, _rename_questions

# Galaxy Zoo Cosmic Dawn (HSC): the DECaLS DR5 tree plus clumps and a problem branch

cosmic_dawn_ortho_pairs: Pairs = {
    "smooth-or-featured-cd": ["_smooth", "_featured-or-disk", "_problem"],
    "disk-edge-on-cd": ["_yes", "_no"],
    "has-spiral-arms-cd": ["_yes", "_no"],
    "bar-cd": ["_strong", "_weak", "_no"],
    "bulge-size-cd": ["_dominant", "_large", "_moderate", "_small", "_none"],
    "how-rounded-cd": ["_round", "_in-between", "_cigar-shaped"],
    "edge-on-bulge-cd": ["_boxy", "_none", "_rounded"],
    "spiral-winding-cd": ["_tight", "_medium", "_loose"],
    "spiral-arm-count-cd": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
    "merging-cd": ["_none", "_minor-disturbance", "_major-disturbance", "_merger"],
    "clumps-cd": ["_yes", "_no"],
    "problem-cd": ["_star", "_artifact", "_zoom"],
    "artifact-cd": ["_satellite", "_scattered", "_diffraction", "_ray", "_saturation", "_other"],
}

cosmic_dawn_ortho_dependencies: Dependencies = {
    "smooth-or-featured-cd": None,
    "problem-cd": "smooth-or-featured-cd_problem",
    "artifact-cd": "problem-cd_artifact",
    "disk-edge-on-cd": "smooth-or-featured-cd_featured-or-disk",
    "clumps-cd": "disk-edge-on-cd_no",
    "has-spiral-arms-cd": "disk-edge-on-cd_no",
    "bar-cd": "disk-edge-on-cd_no",
    "bulge-size-cd": "disk-edge-on-cd_no",
    "how-rounded-cd": "smooth-or-featured-cd_smooth",
    "edge-on-bulge-cd": "disk-edge-on-cd_yes",
    "spiral-winding-cd": "has-spiral-arms-cd_yes",
    "spiral-arm-count-cd": "has-spiral-arms-cd_yes",
    "merging-cd": None,
}

cosmic_dawn_pairs, cosmic_dawn_dependencies = _rename_questions(
    cosmic_dawn_ortho_pairs, cosmic_dawn_ortho_dependencies, _remove_suffix("-cd")
)


# Galaxy Zoo Euclid: the Cosmic Dawn tree, with ghosts among the artifacts

euclid_ortho_pairs: Pairs = {
    "smooth-or-featured-euclid": ["_smooth", "_featured-or-disk", "_problem"],
    "disk-edge-on-euclid": ["_yes", "_no"],
    "has-spiral-arms-euclid": ["_yes", "_no"],
    "bar-euclid": ["_strong", "_weak", "_no"],
    "bulge-size-euclid": ["_dominant", "_large", "_moderate", "_small", "_none"],
    "how-rounded-euclid": ["_round", "_in-between", "_cigar-shaped"],
    "edge-on-bulge-euclid": ["_boxy", "_none", "_rounded"],
    "spiral-winding-euclid": ["_tight", "_medium", "_loose"],
    "spiral-arm-count-euclid": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
    "merging-euclid": ["_none", "_minor-disturbance", "_major-disturbance", "_merger"],
    "clumps-euclid": ["_yes", "_no"],
    "problem-euclid": ["_star", "_artifact", "_zoom"],
    "artifact-euclid": ["_satellite", "_scattered", "_diffraction", "_ray", "_saturation", "_other", "_ghost"],
}

euclid_ortho_dependencies: Dependencies = {
    "smooth-or-featured-euclid": None,
    "problem-euclid": "smooth-or-featured-euclid_problem",
    "artifact-euclid": "problem-euclid_artifact",
    "disk-edge-on-euclid": "smooth-or-featured-euclid_featured-or-disk",
    "clumps-euclid": "disk-edge-on-euclid_no",
    "has-spiral-arms-euclid": "disk-edge-on-euclid_no",
    "bar-euclid": "disk-edge-on-euclid_no",
    "bulge-size-euclid": "disk-edge-on-euclid_no",
    "how-rounded-euclid": "smooth-or-featured-euclid_smooth",
    "edge-on-bulge-euclid": "disk-edge-on-euclid_yes",
    "spiral-winding-euclid": "has-spiral-arms-euclid_yes",
    "spiral-arm-count-euclid": "has-spiral-arms-euclid_yes",
    "merging-euclid": None,
}

euclid_pairs, euclid_dependencies = _rename_questions(
    euclid_ortho_pairs, euclid_ortho_dependencies, _remove_suffix("-euclid")
)
