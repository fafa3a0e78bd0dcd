"""Zoobot 2.x import path for decision trees: :class:`Schema` and the named schemas.

``from zoobot.shared.schemas import Schema, decals_dr5_ortho_schema`` works as before. The named schemas
(Zoobot 2.9's module-level ``*_schema`` objects, e.g. ``gz_evo_v2_schema``) are built from
:mod:`zoobot.trees` when first imported, not when this module loads.

:class:`Schema` is :class:`zoobot.schemas.Schema`, which pickles under this module's name as
``zoobot.shared.schemas.Schema(question_answer_pairs, dependencies)``: a tree checkpoint written by this
package loads in real Zoobot (which rebuilds its own ``Schema``), and Zoobot's pickled schemas load here.
"""

from __future__ import annotations

from zoobot.schemas import Answer, Question, Schema, SchemaError
from zoobot.trees import get_schema

__all__ = ["Answer", "Question", "Schema", "SchemaError", "ZOOBOT_SCHEMAS"]


# Zoobot 2.9 schema names -> zoobot.trees names
ZOOBOT_SCHEMAS: dict[str, str] = {
    "decals_dr12_ortho_schema": "decals_dr12",
    "decals_dr5_ortho_schema": "decals_dr5",
    "decals_dr8_ortho_schema": "decals_dr8",
    "decals_all_campaigns_ortho_schema": "decals_all_campaigns",
    "gz2_ortho_schema": "gz2",
    "gz_candels_ortho_schema": "gz_candels",
    "gz_hubble_ortho_schema": "gz_hubble",
    "gz_hubble_v2_ortho_schema": "gz_hubble_v2",
    "cosmic_dawn_ortho_schema": "cosmic_dawn",
    "cosmic_dawn_schema": "cosmic_dawn_unsuffixed",
    "gz_rings_schema": "gz_rings",
    "desi_schema": "desi",
    "gz_ukidss_schema": "gz_ukidss",
    "gz_jwst_schema": "jwst",
    "jwst_ortho_schema": "jwst",
    "euclid_ortho_schema": "euclid",
    "euclid_schema": "euclid_unsuffixed",
    "gz_evo_v1_schema": "gz_evo",
    "gz_evo_v1_public_schema": "gz_evo_v1_public",
    "gz_evo_v2_schema": "gz_evo_v2",
    "gz_evo_v2_public_schema": "gz_evo_v2_public",
}
"""Every named schema of Zoobot 2.9's ``zoobot.shared.schemas``, with the :func:`zoobot.trees.get_schema` name."""


def __getattr__(name: str) -> Schema:
    if name in ZOOBOT_SCHEMAS:
        return get_schema(ZOOBOT_SCHEMAS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *ZOOBOT_SCHEMAS])
