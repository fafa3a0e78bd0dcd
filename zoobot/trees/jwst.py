"""Galaxy Zoo JWST (CEERS)."""

from __future__ import annotations

from zoobot.trees.decals import desi_dependencies, desi_pairs
from zoobot.trees.dicts import Dependencies, Pairs, _changed, _with_suffix

# Galaxy Zoo JWST (CEERS): the DECaLS DR5 tree (star, artifact or zoom in place of artifact) plus clumps and a
# problem question; its questions are suffixed -jwst.

_jwst_pairs: Pairs = _changed(
    {q: answers for q, answers in desi_pairs.items() if q != "merging"},  # merging comes after clumps
    {
        "smooth-or-featured": ["_smooth", "_featured-or-disk", "_star-artifact-zoom"],
        "clumps": ["_yes", "_no"],
        "merging": list(desi_pairs["merging"]),
        "problem": ["_star", "_artifact", "_bad-zoom"],
    },
)

_jwst_dependencies: Dependencies = {
    **desi_dependencies,
    "clumps": None,
    "problem": "smooth-or-featured_star-artifact-zoom",
}

jwst_ortho_pairs, jwst_ortho_dependencies = _with_suffix(_jwst_pairs, _jwst_dependencies, "-jwst")
