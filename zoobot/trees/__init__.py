"""The named Galaxy Zoo decision trees, spelled exactly as galaxy-datasets' ``label_metadata``.

Get one as a :class:`~zoobot.schemas.Schema` by name; it is built on first request, not at import::

    from zoobot.trees import get_schema, list_schemas, detect_schema

    schema = get_schema('decals_dr5')       # 10 questions, 34 answers, e.g. 'bar-dr5_strong'
    list_schemas()                          # ['gz2', 'gz2_unsuffixed', 'decals_dr5', ...]
    detect_schema(catalog.columns)          # e.g. 'decals_dr5', or None

Most trees suffix each question with its campaign ("ortho" in Zoobot), e.g.
``smooth-or-featured-dr5`` or ``smooth-or-featured-gz2``, so that votes from campaigns that asked
slightly different questions never share a column. The ``*_unsuffixed`` trees drop that suffix
(``smooth-or-featured_smooth``), as in published catalogs such as GZ DESI; they are convenient for
exploring one catalog but should not be mixed with other campaigns in training:

- ``gz2_unsuffixed``: Zoobot's ``gz2_pairs``.
- ``desi``: Zoobot's ``desi_pairs`` and ``decals_pairs`` (the DECaLS DR5/DR8 tree), also reachable
  as ``decals_unsuffixed``.
- ``cosmic_dawn_unsuffixed`` and ``euclid_unsuffixed``: galaxy-datasets' ``cosmic_dawn_pairs`` and
  ``euclid_pairs``.

The raw ``*_pairs`` / ``*_dependencies`` dicts are plain data, one module per survey family
(:mod:`~zoobot.trees.decals`, :mod:`~zoobot.trees.gz2`, :mod:`~zoobot.trees.hst` (also GZ Hubble v2),
:mod:`~zoobot.trees.cosmic_dawn`, :mod:`~zoobot.trees.jwst`, :mod:`~zoobot.trees.rings`,
:mod:`~zoobot.trees.gz_evo`), all importable from here and re-exported under their Zoobot 2.x names
by :mod:`zoobot.shared.label_metadata`. Treat them as read-only. The registry of named trees is
:mod:`~zoobot.trees.registry`.
"""

from __future__ import annotations

from zoobot.trees.cosmic_dawn import (
    cosmic_dawn_dependencies,
    cosmic_dawn_ortho_dependencies,
    cosmic_dawn_ortho_pairs,
    cosmic_dawn_pairs,
    euclid_dependencies,
    euclid_ortho_dependencies,
    euclid_ortho_pairs,
    euclid_pairs,
)
from zoobot.trees.decals import (
    decals_all_campaigns_ortho_pairs,
    decals_dependencies,
    decals_dr5_ortho_dependencies,
    decals_dr5_ortho_pairs,
    decals_dr8_ortho_dependencies,
    decals_dr8_ortho_pairs,
    decals_dr12_ortho_dependencies,
    decals_dr12_ortho_pairs,
    decals_ortho_dependencies,
    decals_pairs,
    desi_dependencies,
    desi_pairs,
)
from zoobot.trees.dicts import Dependencies, Pairs
from zoobot.trees.gz2 import (
    gz2_dependencies,
    gz2_ortho_dependencies,
    gz2_ortho_pairs,
    gz2_pairs,
    ukidss_ortho_dependencies,
    ukidss_ortho_pairs,
)
from zoobot.trees.gz_evo import (
    gz_evo_v1_dependencies,
    gz_evo_v1_pairs,
    gz_evo_v1_public_dependencies,
    gz_evo_v1_public_pairs,
    gz_evo_v2_dependencies,
    gz_evo_v2_pairs,
    gz_evo_v2_public_dependencies,
    gz_evo_v2_public_pairs,
)
from zoobot.trees.hst import (
    candels_ortho_dependencies,
    candels_ortho_pairs,
    candels_pairs,
    hubble_ortho_dependencies,
    hubble_ortho_pairs,
    hubble_pairs,
    hubble_v2_ortho_dependencies,
    hubble_v2_ortho_pairs,
    hubble_v2_pairs,
)
from zoobot.trees.jwst import jwst_ortho_dependencies, jwst_ortho_pairs
from zoobot.trees.registry import describe_schema, detect_schema, get_schema, list_schemas
from zoobot.trees.rings import rings_dependencies, rings_pairs

__all__ = [
    "Dependencies",
    "Pairs",
    "candels_ortho_dependencies",
    "candels_ortho_pairs",
    "candels_pairs",
    "cosmic_dawn_dependencies",
    "cosmic_dawn_ortho_dependencies",
    "cosmic_dawn_ortho_pairs",
    "cosmic_dawn_pairs",
    "decals_all_campaigns_ortho_pairs",
    "decals_dependencies",
    "decals_dr12_ortho_dependencies",
    "decals_dr12_ortho_pairs",
    "decals_dr5_ortho_dependencies",
    "decals_dr5_ortho_pairs",
    "decals_dr8_ortho_dependencies",
    "decals_dr8_ortho_pairs",
    "decals_ortho_dependencies",
    "decals_pairs",
    "describe_schema",
    "desi_dependencies",
    "desi_pairs",
    "detect_schema",
    "euclid_dependencies",
    "euclid_ortho_dependencies",
    "euclid_ortho_pairs",
    "euclid_pairs",
    "get_schema",
    "gz2_dependencies",
    "gz2_ortho_dependencies",
    "gz2_ortho_pairs",
    "gz2_pairs",
    "gz_evo_v1_dependencies",
    "gz_evo_v1_pairs",
    "gz_evo_v1_public_dependencies",
    "gz_evo_v1_public_pairs",
    "gz_evo_v2_dependencies",
    "gz_evo_v2_pairs",
    "gz_evo_v2_public_dependencies",
    "gz_evo_v2_public_pairs",
    "hubble_ortho_dependencies",
    "hubble_ortho_pairs",
    "hubble_pairs",
    "hubble_v2_ortho_dependencies",
    "hubble_v2_ortho_pairs",
    "hubble_v2_pairs",
    "jwst_ortho_dependencies",
    "jwst_ortho_pairs",
    "list_schemas",
    "rings_dependencies",
    "rings_pairs",
    "ukidss_ortho_dependencies",
    "ukidss_ortho_pairs",
]
