"""Galaxy Zoo 2 (SDSS), suffixed and unsuffixed, and Galaxy Zoo UKIDSS, which asked the GZ2 tree."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs, _add_suffix, _remove_suffix, _rename_questions

# Galaxy Zoo 2 (SDSS)

gz2_ortho_pairs: Pairs = {
    "smooth-or-featured-gz2": ["_smooth", "_featured-or-disk", "_artifact"],
    "disk-edge-on-gz2": ["_yes", "_no"],
    "has-spiral-arms-gz2": ["_yes", "_no"],
    "bar-gz2": ["_yes", "_no"],
    "bulge-size-gz2": ["_dominant", "_obvious", "_just-noticeable", "_no"],
    "something-odd-gz2": ["_yes", "_no"],
    "how-rounded-gz2": ["_round", "_in-between", "_cigar"],
    "bulge-shape-gz2": ["_round", "_boxy", "_no-bulge"],
    "spiral-winding-gz2": ["_tight", "_medium", "_loose"],
    "spiral-arm-count-gz2": ["_1", "_2", "_3", "_4", "_more-than-4", "_cant-tell"],
}

# as in galaxy-datasets, including 'edge-on-bulge-gz2', which the GZ2 pairs leave out (ignored)
gz2_ortho_dependencies: Dependencies = {
    "smooth-or-featured-gz2": None,
    "disk-edge-on-gz2": "smooth-or-featured-gz2_featured-or-disk",
    "has-spiral-arms-gz2": "smooth-or-featured-gz2_featured-or-disk",
    "bar-gz2": "smooth-or-featured-gz2_featured-or-disk",
    "bulge-size-gz2": "smooth-or-featured-gz2_featured-or-disk",
    "how-rounded-gz2": "smooth-or-featured-gz2_smooth",
    "bulge-shape-gz2": "disk-edge-on-gz2_yes",
    "edge-on-bulge-gz2": "disk-edge-on-gz2_yes",
    "spiral-winding-gz2": "has-spiral-arms-gz2_yes",
    "spiral-arm-count-gz2": "has-spiral-arms-gz2_yes",
    "something-odd-gz2": None,  # in GZ2 it follows every answer but artifact; treated as always
}

gz2_pairs, gz2_dependencies = _rename_questions(gz2_ortho_pairs, gz2_ortho_dependencies, _remove_suffix("-gz2"))


# Galaxy Zoo UKIDSS: the GZ2 tree, with its questions suffixed -ukidss

ukidss_ortho_pairs, ukidss_ortho_dependencies = _rename_questions(gz2_pairs, gz2_dependencies, _add_suffix("-ukidss"))
