"""Galaxy Zoo 2 (SDSS), suffixed and unsuffixed, and Galaxy Zoo UKIDSS, which asked the GZ2 tree."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs, _with_suffix

# Galaxy Zoo 2 (SDSS); its questions are suffixed -gz2 in the ortho tree

gz2_pairs: Pairs = {
    "smooth-or-featured": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on": ["_yes", "_no"],
    "has-spiral-arms": ["_yes", "_no"],
    "bar": ["_yes", "_no"],
    "bulge-size": ["_dominant", "_obvious", "_just-noticeable", "_no"],
    "something-odd": ["_yes", "_no"],
    "how-rounded": ["_round", "_in-between", "_cigar"],
    "bulge-shape": ["_round", "_boxy", "_no-bulge"],
    "spiral-winding": ["_tight", "_medium", "_loose"],
    "spiral-arm-count": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
}

# as in galaxy-datasets, including 'edge-on-bulge', which the GZ2 pairs leave out (ignored)
gz2_dependencies: Dependencies = {
    "smooth-or-featured": None,
    "disk-edge-on": "smooth-or-featured_featured-or-disk",
    "has-spiral-arms": "smooth-or-featured_featured-or-disk",
    "bar": "smooth-or-featured_featured-or-disk",
    "bulge-size": "smooth-or-featured_featured-or-disk",
    "how-rounded": "smooth-or-featured_smooth",
    "bulge-shape": "disk-edge-on_yes",
    "edge-on-bulge": "disk-edge-on_yes",
    "spiral-winding": "has-spiral-arms_yes",
    "spiral-arm-count": "has-spiral-arms_yes",
    "something-odd": None,  # in GZ2 it follows every answer but artifact; treated as always
}

gz2_ortho_pairs, gz2_ortho_dependencies = _with_suffix(gz2_pairs, gz2_dependencies, "-gz2")


# Galaxy Zoo UKIDSS: the GZ2 tree, with its questions suffixed -ukidss

ukidss_ortho_pairs, ukidss_ortho_dependencies = _with_suffix(gz2_pairs, gz2_dependencies, "-ukidss")
