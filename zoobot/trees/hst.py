"""The Hubble Space Telescope campaigns: Galaxy Zoo Hubble and Galaxy Zoo CANDELS."""

from __future__ import annotations

from zoobot.trees.dicts import Dependencies, Pairs, _questions, _with_suffix

# Galaxy Zoo Hubble. The clump-configuration questions are left out, as in galaxy-datasets: several
# (not all) of their parent's answers lead to them, which a one-parent tree cannot express.
# Its questions are suffixed -hubble in the ortho tree.

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

# as in galaxy-datasets, including edge-on-bulge, which the Hubble pairs leave out (ignored)
_hubble_dependencies: Dependencies = {
    "smooth-or-featured": None,
    "how-rounded": "smooth-or-featured_smooth",
    "clumpy-appearance": "smooth-or-featured_features",
    "galaxy-symmetrical": "clumpy-appearance_yes",
    "clumps-embedded-larger-object": "clumpy-appearance_yes",
    "disk-edge-on": "clumpy-appearance_no",
    "bulge-shape": "disk-edge-on_yes",
    "edge-on-bulge": "disk-edge-on_yes",
    "bar": "disk-edge-on_no",
    "has-spiral-arms": "disk-edge-on_no",
    "spiral-winding": "disk-edge-on_no",
    "spiral-arm-count": "disk-edge-on_no",
    "bulge-size": "disk-edge-on_no",
}

hubble_ortho_pairs, hubble_ortho_dependencies = _with_suffix(hubble_pairs, _hubble_dependencies, "-hubble")


# Galaxy Zoo CANDELS (clump questions left out as for Hubble): Hubble's questions, asked after the same answers
# and with the same answers but for the bulge, and a merging question every volunteer is asked. Its questions are
# suffixed -candels in the ortho tree.

candels_pairs: Pairs = {
    **_questions(hubble_pairs, "smooth-or-featured", "how-rounded", "clumpy-appearance", "disk-edge-on"),
    "edge-on-bulge": ["_yes", "_no"],
    **_questions(hubble_pairs, "bar", "has-spiral-arms", "spiral-winding", "spiral-arm-count"),
    "bulge-size": ["_none", "_obvious", "_dominant"],
    "merging": ["_merger", "_tidal-debris", "_both", "_neither"],
}

candels_ortho_pairs, candels_ortho_dependencies = _with_suffix(
    candels_pairs,
    {**{q: parent for q, parent in _hubble_dependencies.items() if q in candels_pairs}, "merging": None},
    "-candels",
)


# Galaxy Zoo Hubble, version 2 (galaxy-datasets' hubble_v2): the tree without the clump questions, so
# disk-edge-on follows smooth-or-featured directly. It is the Hubble part of GZ Evo v2.

_CLUMP_QUESTIONS = ("clumpy-appearance", "galaxy-symmetrical", "clumps-embedded-larger-object")

hubble_v2_pairs: Pairs = {q: list(answers) for q, answers in hubble_pairs.items() if q not in _CLUMP_QUESTIONS}

hubble_v2_ortho_pairs, hubble_v2_ortho_dependencies = _with_suffix(
    hubble_v2_pairs,
    {
        **{q: parent for q, parent in _hubble_dependencies.items() if q not in _CLUMP_QUESTIONS},
        "disk-edge-on": "smooth-or-featured_features",  # in place of clumpy-appearance_no
    },
    "-hubble",
)
