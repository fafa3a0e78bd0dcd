"""Galaxy Zoo DECaLS (GZD-1/2, GZD-5, GZD-8) and the unsuffixed DESI tree."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs, _changed, _with_suffix

# The DECaLS DR5 tree without a campaign suffix: Galaxy Zoo DESI's (Zoobot's desi_pairs and decals_pairs).

desi_pairs: Pairs = {
    "smooth-or-featured": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on": ["_yes", "_no"],
    "has-spiral-arms": ["_yes", "_no"],
    "bar": ["_strong", "_weak", "_no"],
    "bulge-size": ["_dominant", "_large", "_moderate", "_small", "_none"],
    "how-rounded": ["_round", "_in-between", "_cigar-shaped"],
    "edge-on-bulge": ["_boxy", "_none", "_rounded"],
    "spiral-winding": ["_tight", "_medium", "_loose"],
    "spiral-arm-count": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
    "merging": ["_none", "_minor-disturbance", "_major-disturbance", "_merger"],
}

desi_dependencies: Dependencies = {
    "smooth-or-featured": None,
    "disk-edge-on": "smooth-or-featured_featured-or-disk",
    "has-spiral-arms": "disk-edge-on_no",
    "bar": "disk-edge-on_no",
    "bulge-size": "disk-edge-on_no",
    "how-rounded": "smooth-or-featured_smooth",
    "edge-on-bulge": "disk-edge-on_yes",
    "spiral-winding": "has-spiral-arms_yes",
    "spiral-arm-count": "has-spiral-arms_yes",
    "merging": None,  # asked after smooth or featured; a tree has one parent, so: always
}

# DECaLS: GZD-1/2 as dr12, GZD-5 as dr5, GZD-8 as dr8, each question suffixed with its campaign.
# DR5 and DR8 asked exactly this tree. DR1/2 asked the same questions after the same answers, but between
# DR1/2 and DR5 the merging answers changed, bulge size went from 3 to 5 answers, bar from yes/no to
# strong/weak/no, how-rounded's first answer from completely to round, and spiral-arm-count gained cant-tell.

decals_dr12_ortho_pairs, decals_dr12_ortho_dependencies = _with_suffix(
    _changed(
        desi_pairs,
        {
            "bar": ["_yes", "_no"],
            "bulge-size": ["_dominant", "_obvious", "_none"],
            "how-rounded": ["_completely", "_in-between", "_cigar-shaped"],
            "spiral-arm-count": ["_1", "_2", "_3", "_4", "_more-than-4"],
            "merging": ["_neither", "_tidal-debris", "_both", "_merger"],
        },
    ),
    desi_dependencies,
    "-dr12",
)
decals_dr5_ortho_pairs, decals_dr5_ortho_dependencies = _with_suffix(desi_pairs, desi_dependencies, "-dr5")
decals_dr8_ortho_pairs, decals_dr8_ortho_dependencies = _with_suffix(desi_pairs, desi_dependencies, "-dr8")

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
decals_pairs: Pairs = {q: list(answers) for q, answers in desi_pairs.items()}
decals_dependencies: Dependencies = dict(desi_dependencies)
