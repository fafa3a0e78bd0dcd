"""The Hubble Space Telescope campaigns: Galaxy Zoo Hubble and Galaxy Zoo CANDELS."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs

# Galaxy Zoo Hubble. The clump-configuration questions are left out, as in galaxy-datasets: several
# (not all) of their parent's answers lead to them, which a one-parent tree cannot express.

hubble_pairs: Pairs = {
    "smooth-or-featured": ["_smooth", "_features", "_artifact"],
    "how-rounded": ["_completely", "_in-between", "_cigar-shaped"],
    "clumpy-appearance": ["_yes", "_no"],
    "disk-edge-on": ["_yes", "_no"],
    "bulge-shape": ["_rounded", "_boxy", "_none"],
    "bar": ["_yes", "_no"],
    "has-spiral-arms": ["_yes", "_no"],
    "spiral-winding": ["_tight", "_medium", "_loose"],
    "spiral-arm-count": ["_1", "_2", "_3", "_4", "_5-plus", "_cant-tell"],
    "bulge-size": ["_none", "_just-noticeable", "_obvious", "_dominant"],
    "galaxy-symmetrical": ["_yes", "_no"],
    "clumps-embedded-larger-object": ["_yes", "_no"],
}
hubble_ortho_pairs: Pairs = {q + "-hubble": list(answers) for q, answers in hubble_pairs.items()}

hubble_ortho_dependencies: Dependencies = {
    "smooth-or-featured-hubble": None,
    "how-rounded-hubble": "smooth-or-featured-hubble_smooth",
    "clumpy-appearance-hubble": "smooth-or-featured-hubble_features",
    "galaxy-symmetrical-hubble": "clumpy-appearance-hubble_yes",
    "clumps-embedded-larger-object-hubble": "clumpy-appearance-hubble_yes",
    "disk-edge-on-hubble": "clumpy-appearance-hubble_no",
    "bulge-shape-hubble": "disk-edge-on-hubble_yes",
    "edge-on-bulge-hubble": "disk-edge-on-hubble_yes",
    "bar-hubble": "disk-edge-on-hubble_no",
    "has-spiral-arms-hubble": "disk-edge-on-hubble_no",
    "spiral-winding-hubble": "disk-edge-on-hubble_no",
    "spiral-arm-count-hubble": "disk-edge-on-hubble_no",
    "bulge-size-hubble": "disk-edge-on-hubble_no",
}


# Galaxy Zoo CANDELS (clump questions left out as for Hubble)

candels_pairs: Pairs = {
    "smooth-or-featured": ["_smooth", "_features", "_artifact"],
    "how-rounded": ["_completely", "_in-between", "_cigar-shaped"],
    "clumpy-appearance": ["_yes", "_no"],
    "disk-edge-on": ["_yes", "_no"],
    "edge-on-bulge": ["_yes", "_no"],
    "bar": ["_yes", "_no"],
    "has-spiral-arms": ["_yes", "_no"],
    "spiral-winding": ["_tight", "_medium", "_loose"],
    "spiral-arm-count": ["_1", "_2", "_3", "_4", "_5-plus", "_cant-tell"],
    "bulge-size": ["_none", "_obvious", "_dominant"],
    "merging": ["_merger", "_tidal-debris", "_both", "_neither"],
}
candels_ortho_pairs: Pairs = {q + "-candels": list(answers) for q, answers in candels_pairs.items()}

candels_ortho_dependencies: Dependencies = {
    "smooth-or-featured-candels": None,
    "how-rounded-candels": "smooth-or-featured-candels_smooth",
    "clumpy-appearance-candels": "smooth-or-featured-candels_features",
    "disk-edge-on-candels": "clumpy-appearance-candels_no",
    "edge-on-bulge-candels": "disk-edge-on-candels_yes",
    "bar-candels": "disk-edge-on-candels_no",
    "has-spiral-arms-candels": "disk-edge-on-candels_no",
    "spiral-winding-candels": "disk-edge-on-candels_no",
    "spiral-arm-count-candels": "disk-edge-on-candels_no",
    "bulge-size-candels": "disk-edge-on-candels_no",
    "merging-candels": None,
}


# Galaxy Zoo Hubble, version 2 (galaxy-datasets' hubble_v2): the tree without the clump questions, so
# disk-edge-on follows smooth-or-featured directly. It is the Hubble part of GZ Evo v2.

hubble_v2_pairs: Pairs = {
    "smooth-or-featured": ["_smooth", "_features", "_artifact"],
    "how-rounded": ["_completely", "_in-between", "_cigar-shaped"],
    "disk-edge-on": ["_yes", "_no"],
    "bulge-shape": ["_rounded", "_boxy", "_none"],
    "bar": ["_yes", "_no"],
    "has-spiral-arms": ["_yes", "_no"],
    "spiral-winding": ["_tight", "_medium", "_loose"],
    "spiral-arm-count": ["_1", "_2", "_3", "_4", "_5-plus", "_cant-tell"],
    "bulge-size": ["_none", "_just-noticeable", "_obvious", "_dominant"],
}
hubble_v2_ortho_pairs: Pairs = {q + "-hubble": list(answers) for q, answers in hubble_v2_pairs.items()}

hubble_v2_ortho_dependencies: Dependencies = {
    "smooth-or-featured-hubble": None,
    "how-rounded-hubble": "smooth-or-featured-hubble_smooth",
    "disk-edge-on-hubble": "smooth-or-featured-hubble_features",
    "bulge-shape-hubble": "disk-edge-on-hubble_yes",
    "edge-on-bulge-hubble": "disk-edge-on-hubble_yes",
    "bar-hubble": "disk-edge-on-hubble_no",
    "has-spiral-arms-hubble": "disk-edge-on-hubble_no",
    "spiral-winding-hubble": "disk-edge-on-hubble_no",
    "spiral-arm-count-hubble": "disk-edge-on-hubble_no",
    "bulge-size-hubble": "disk-edge-on-hubble_no",
}
