"""Galaxy Zoo DECaLS (GZD-1/2, GZD-5, GZD-8) and the unsuffixed DESI tree."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs, _remove_suffix, _rename_questions

# DECaLS (GZD-1/2 as dr12, GZD-5 as dr5, GZD-8 as dr8).
# Between DR1/2 and DR5 the merging answers changed, bulge size went from 3 to 5 answers,
# bar from yes/no to strong/weak/no, and spiral-arm-count gained cant-tell.

decals_dr12_ortho_pairs: Pairs = {
    "smooth-or-featured-dr12": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on-dr12": ["_yes", "_no"],
    "has-spiral-arms-dr12": ["_yes", "_no"],
    "bar-dr12": ["_yes", "_no"],
    "bulge-size-dr12": ["_dominant", "_obvious", "_none"],
    "how-rounded-dr12": ["_completely", "_in-between", "_cigar-shaped"],
    "edge-on-bulge-dr12": ["_boxy", "_none", "_rounded"],
    "spiral-winding-dr12": ["_tight", "_medium", "_loose"],
    "spiral-arm-count-dr12": ["_1", "_2", "_3", "_4", "_more-than-4"],
    "merging-dr12": ["_neither", "_tidal-debris", "_both", "_merger"],
}

decals_dr12_ortho_dependencies: Dependencies = {
    "smooth-or-featured-dr12": None,
    "disk-edge-on-dr12": "smooth-or-featured-dr12_featured-or-disk",
    "has-spiral-arms-dr12": "disk-edge-on-dr12_no",
    "bar-dr12": "disk-edge-on-dr12_no",
    "bulge-size-dr12": "disk-edge-on-dr12_no",
    "how-rounded-dr12": "smooth-or-featured-dr12_smooth",
    "edge-on-bulge-dr12": "disk-edge-on-dr12_yes",
    "spiral-winding-dr12": "has-spiral-arms-dr12_yes",
    "spiral-arm-count-dr12": "has-spiral-arms-dr12_yes",
    "merging-dr12": None,  # asked after smooth or featured; a tree has one parent, so: always
}

decals_dr5_ortho_pairs: Pairs = {
    "smooth-or-featured-dr5": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on-dr5": ["_yes", "_no"],
    "has-spiral-arms-dr5": ["_yes", "_no"],
    "bar-dr5": ["_strong", "_weak", "_no"],
    "bulge-size-dr5": ["_dominant", "_large", "_moderate", "_small", "_none"],
    "how-rounded-dr5": ["_round", "_in-between", "_cigar-shaped"],
    "edge-on-bulge-dr5": ["_boxy", "_none", "_rounded"],
    "spiral-winding-dr5": ["_tight", "_medium", "_loose"],
    "spiral-arm-count-dr5": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
    "merging-dr5": ["_none", "_minor-disturbance", "_major-disturbance", "_merger"],
}

decals_dr5_ortho_dependencies: Dependencies = {
    "smooth-or-featured-dr5": None,
    "disk-edge-on-dr5": "smooth-or-featured-dr5_featured-or-disk",
    "has-spiral-arms-dr5": "disk-edge-on-dr5_no",
    "bar-dr5": "disk-edge-on-dr5_no",
    "bulge-size-dr5": "disk-edge-on-dr5_no",
    "how-rounded-dr5": "smooth-or-featured-dr5_smooth",
    "edge-on-bulge-dr5": "disk-edge-on-dr5_yes",
    "spiral-winding-dr5": "has-spiral-arms-dr5_yes",
    "spiral-arm-count-dr5": "has-spiral-arms-dr5_yes",
    "merging-dr5": None,
}

# DR8 asked exactly the DR5 questions
decals_dr8_ortho_pairs, decals_dr8_ortho_dependencies = _rename_questions(
    decals_dr5_ortho_pairs,
    decals_dr5_ortho_dependencies,
    lambda question: question.removesuffix("-dr5") + "-dr8",
)

decals_all_campaigns_ortho_pairs: Pairs = {
    **decals_dr12_ortho_pairs,
    **decals_dr5_ortho_pairs,
    **decals_dr8_ortho_pairs,
}
# Zoobot 2.x and galaxy-datasets share this one dependencies dict between all DECaLS campaigns
decals_ortho_dependencies: Dependencies = {
    **decals_dr12_ortho_dependencies,
    **decals_dr5_ortho_dependencies,
    **decals_dr8_ortho_dependencies,
}

# DESI: the DR8 tree without the campaign suffix (Zoobot's unsuffixed decals_pairs is the same)
desi_pairs, desi_dependencies = _rename_questions(
    decals_dr8_ortho_pairs, decals_dr8_ortho_dependencies, _remove_suffix("-dr8")
)
decals_pairs: Pairs = {q: list(answers) for q, answers in desi_pairs.items()}
decals_dependencies: Dependencies = dict(desi_dependencies)
