"""The registry of named trees: :func:`get_schema`, :func:`list_schemas`, :func:`describe_schema`,
:func:`detect_schema`. A tree is built into a :class:`~zoobot.schemas.Schema` when first asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from zoobot.schemas import Schema, SchemaError
from zoobot.trees import cosmic_dawn, decals, gz2, gz_evo, hst, jwst, rings


@dataclass(frozen=True)
class _Tree:
    description: str
    pairs: Mapping[str, list[str]]
    dependencies: Mapping[str, str | None]


# Order matters only where two trees have identical columns (detect_schema picks the first).
_TREES: dict[str, _Tree] = {
    "gz2": _Tree("Galaxy Zoo 2 (SDSS); questions end in -gz2", gz2.gz2_ortho_pairs, gz2.gz2_ortho_dependencies),
    "gz2_unsuffixed": _Tree("Galaxy Zoo 2 (SDSS) without the -gz2 suffix", gz2.gz2_pairs, gz2.gz2_dependencies),
    "decals_dr5": _Tree(
        "Galaxy Zoo DECaLS, GZD-5 campaign; questions end in -dr5",
        decals.decals_dr5_ortho_pairs,
        decals.decals_ortho_dependencies,
    ),
    "decals_dr8": _Tree(
        "Galaxy Zoo DECaLS, GZD-8 campaign (same tree as DR5); questions end in -dr8",
        decals.decals_dr8_ortho_pairs,
        decals.decals_ortho_dependencies,
    ),
    "decals_dr12": _Tree(
        "Galaxy Zoo DECaLS, GZD-1/2 campaigns; questions end in -dr12",
        decals.decals_dr12_ortho_pairs,
        decals.decals_ortho_dependencies,
    ),
    "decals_all_campaigns": _Tree(
        "Galaxy Zoo DECaLS, DR1/2, DR5 and DR8 campaigns side by side",
        decals.decals_all_campaigns_ortho_pairs,
        decals.decals_ortho_dependencies,
    ),
    "desi": _Tree(
        "Galaxy Zoo DESI / DECaLS DR5-DR8 tree without campaign suffix", decals.desi_pairs, decals.desi_dependencies
    ),
    "gz_candels": _Tree(
        "Galaxy Zoo CANDELS (HST); questions end in -candels", hst.candels_ortho_pairs, hst.candels_ortho_dependencies
    ),
    "gz_hubble": _Tree(
        "Galaxy Zoo Hubble (HST); questions end in -hubble", hst.hubble_ortho_pairs, hst.hubble_ortho_dependencies
    ),
    "gz_hubble_v2": _Tree(
        "Galaxy Zoo Hubble (HST) without the clump questions (version 2, as in GZ Evo v2); questions end in -hubble",
        hst.hubble_v2_ortho_pairs,
        hst.hubble_v2_ortho_dependencies,
    ),
    "cosmic_dawn": _Tree(
        "Galaxy Zoo Cosmic Dawn (HSC); questions end in -cd",
        cosmic_dawn.cosmic_dawn_ortho_pairs,
        cosmic_dawn.cosmic_dawn_ortho_dependencies,
    ),
    "cosmic_dawn_unsuffixed": _Tree(
        "Galaxy Zoo Cosmic Dawn (HSC) without the -cd suffix",
        cosmic_dawn.cosmic_dawn_pairs,
        cosmic_dawn.cosmic_dawn_dependencies,
    ),
    "gz_rings": _Tree("Galaxy Zoo Rings: one yes/no question", rings.rings_pairs, rings.rings_dependencies),
    "gz_ukidss": _Tree(
        "Galaxy Zoo UKIDSS (GZ2 tree); questions end in -ukidss", gz2.ukidss_ortho_pairs, gz2.ukidss_ortho_dependencies
    ),
    "euclid": _Tree(
        "Galaxy Zoo Euclid; questions end in -euclid",
        cosmic_dawn.euclid_ortho_pairs,
        cosmic_dawn.euclid_ortho_dependencies,
    ),
    "euclid_unsuffixed": _Tree(
        "Galaxy Zoo Euclid without the -euclid suffix", cosmic_dawn.euclid_pairs, cosmic_dawn.euclid_dependencies
    ),
    "jwst": _Tree(
        "Galaxy Zoo JWST (CEERS); questions end in -jwst", jwst.jwst_ortho_pairs, jwst.jwst_ortho_dependencies
    ),
    "gz_evo": _Tree(
        "GZ Evo v1: DECaLS, GZ2, CANDELS, Hubble and Cosmic Dawn side by side (Zoobot 2.x pretraining)",
        gz_evo.gz_evo_v1_pairs,
        gz_evo.gz_evo_v1_dependencies,
    ),
    "gz_evo_v1_public": _Tree(
        "GZ Evo v1 without Cosmic Dawn (the campaigns whose votes are public)",
        gz_evo.gz_evo_v1_public_pairs,
        gz_evo.gz_evo_v1_public_dependencies,
    ),
    "gz_evo_v2": _Tree(
        "GZ Evo v2: DECaLS, GZ2, CANDELS, Hubble v2, Cosmic Dawn and Euclid side by side (Zoobot 2.9 pretraining)",
        gz_evo.gz_evo_v2_pairs,
        gz_evo.gz_evo_v2_dependencies,
    ),
    "gz_evo_v2_public": _Tree(
        "GZ Evo v2 without Cosmic Dawn and Euclid (the campaigns whose votes are public)",
        gz_evo.gz_evo_v2_public_pairs,
        gz_evo.gz_evo_v2_public_dependencies,
    ),
}

# Other names users know: Zoobot 2.x schema names (without "_schema") and survey nicknames.
_ALIASES: dict[str, str] = {
    "decals_unsuffixed": "desi",
    "gz_desi": "desi",
    "decals_dr5_ortho": "decals_dr5",
    "decals_dr8_ortho": "decals_dr8",
    "decals_dr12_ortho": "decals_dr12",
    "decals_all_campaigns_ortho": "decals_all_campaigns",
    "gz2_ortho": "gz2",
    "gz_candels_ortho": "gz_candels",
    "candels": "gz_candels",
    "gz_hubble_ortho": "gz_hubble",
    "hubble": "gz_hubble",
    "cosmic_dawn_ortho": "cosmic_dawn",
    "hsc": "cosmic_dawn",
    "rings": "gz_rings",
    "ukidss": "gz_ukidss",
    "euclid_ortho": "euclid",
    "gz_euclid": "euclid",
    "gz_jwst": "jwst",
    "ceers": "jwst",
    "gz_evo_v1": "gz_evo",
    "gz_hubble_v2_ortho": "gz_hubble_v2",
    "hubble_v2": "gz_hubble_v2",
    "jwst_ortho": "jwst",
}


def list_schemas() -> list[str]:
    """Names of the built-in Galaxy Zoo trees, for :func:`get_schema`."""
    return list(_TREES)


def _resolve(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else name
    key = _ALIASES.get(key, key)
    if key not in _TREES:
        raise SchemaError(
            f"Unknown schema {name!r}. Known schemas: {', '.join(_TREES)}. "
            "For your own tree, write a YAML file and load it with Schema.from_yaml."
        )
    return key


@cache
def _build(name: str) -> Schema:
    tree = _TREES[name]
    return Schema(tree.pairs, tree.dependencies)


def get_schema(name: str) -> Schema:
    """The named Galaxy Zoo tree, e.g. ``get_schema('decals_dr5')``.

    Names come from :func:`list_schemas`; Zoobot 2.x names such as ``'decals_dr5_ortho'`` work too.
    The schema is built on first request and shared afterwards (schemas are immutable).

    Raises:
        SchemaError: unknown name; the message lists the known names.
    """
    return _build(_resolve(name))


def describe_schema(name: str, with_size: bool = True) -> str:
    """A one-line description of a named tree, for menus and the command line.

    Args:
        name: a name from :func:`list_schemas` (or a Zoobot 2.x alias).
        with_size: add the number of questions and answers (builds the tree).

    Raises:
        SchemaError: unknown name.
    """
    key = _resolve(name)
    if not with_size:
        return _TREES[key].description
    schema = get_schema(key)
    return f"{_TREES[key].description} ({len(schema.questions)} questions, {len(schema.answers)} answers)"


def detect_schema(columns: Iterable[str]) -> str | None:
    """The named tree whose answer columns all appear in ``columns``, or None.

    Where several match (e.g. a GZ Evo catalog also holds every DECaLS DR5 column), the tree with
    the most answers wins, so the most complete description of the catalog is chosen.

    Args:
        columns: e.g. a catalog's column names (vote-count columns are the answer columns).
    """
    present = set(columns)
    best: str | None = None
    best_size = 0
    for name in _TREES:
        schema = get_schema(name)
        if len(schema.answers) > best_size and not schema.validate_columns(present):
            best, best_size = name, len(schema.answers)
    return best
