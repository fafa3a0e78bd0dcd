"""Zoobot 2.x import path for decision trees: a thin re-export of :mod:`zoobot.schemas`.

``from zoobot.shared.schemas import Schema, decals_dr5_ortho_schema`` works as before; the named
schemas (Zoobot 2.x's module-level ``*_schema`` objects) are built by :func:`zoobot.trees.get_schema`
when first imported, not when this module loads.
"""

from __future__ import annotations

from zoobot.schemas import Answer, Question, Schema, SchemaError
from zoobot.trees import get_schema

__all__ = ['Answer', 'Question', 'Schema', 'SchemaError']

# Zoobot 2.x schema names -> zoobot.trees names
_ZOOBOT_SCHEMAS = {
    'decals_dr12_ortho_schema': 'decals_dr12',
    'decals_dr5_ortho_schema': 'decals_dr5',
    'decals_dr8_ortho_schema': 'decals_dr8',
    'decals_all_campaigns_ortho_schema': 'decals_all_campaigns',
    'gz2_ortho_schema': 'gz2',
    'gz_candels_ortho_schema': 'gz_candels',
    'gz_hubble_ortho_schema': 'gz_hubble',
    'cosmic_dawn_ortho_schema': 'cosmic_dawn',
    'cosmic_dawn_schema': 'cosmic_dawn_unsuffixed',
    'gz_rings_schema': 'gz_rings',
    'desi_schema': 'desi',
    'gz_evo_v1_schema': 'gz_evo',
    'gz_ukidss_schema': 'gz_ukidss',
    'gz_jwst_schema': 'jwst',
    'euclid_ortho_schema': 'euclid',
    'euclid_schema': 'euclid_unsuffixed',
}


def __getattr__(name: str) -> Schema:
    if name in _ZOOBOT_SCHEMAS:
        return get_schema(_ZOOBOT_SCHEMAS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
