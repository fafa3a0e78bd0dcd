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

The raw ``*_pairs`` / ``*_dependencies`` dicts below are plain data, re-exported under their Zoobot
2.x names by :mod:`zoobot.shared.label_metadata`. Treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from zoobot.schemas import Schema, SchemaError

Pairs = dict[str, list[str]]
Dependencies = dict[str, str | None]


def _rename_questions(
    pairs: Pairs, dependencies: Dependencies, rename: Callable[[str], str]
) -> tuple[Pairs, Dependencies]:
    """Copy a tree with every question renamed (e.g. a campaign suffix added or removed)."""
    names = sorted(set(pairs) | set(dependencies), key=len, reverse=True)

    def rename_column(column: str | None) -> str | None:
        if column is None:
            return None
        question = next(n for n in names if column.startswith(n + '_'))
        return rename(question) + column[len(question):]

    return (
        {rename(q): list(answers) for q, answers in pairs.items()},
        {rename(q): rename_column(parent) for q, parent in dependencies.items()},
    )


def _remove_suffix(suffix: str) -> Callable[[str], str]:
    return lambda question: question.removesuffix(suffix)


# DECaLS (GZD-1/2 as dr12, GZD-5 as dr5, GZD-8 as dr8).
# Between DR1/2 and DR5 the merging answers changed, bulge size went from 3 to 5 answers,
# bar from yes/no to strong/weak/no, and spiral-arm-count gained cant-tell.

decals_dr12_ortho_pairs: Pairs = {
    'smooth-or-featured-dr12': ['_smooth', '_featured-or-disk', '_artifact'],
    'disk-edge-on-dr12': ['_yes', '_no'],
    'has-spiral-arms-dr12': ['_yes', '_no'],
    'bar-dr12': ['_yes', '_no'],
    'bulge-size-dr12': ['_dominant', '_obvious', '_none'],
    'how-rounded-dr12': ['_completely', '_in-between', '_cigar-shaped'],
    'edge-on-bulge-dr12': ['_boxy', '_none', '_rounded'],
    'spiral-winding-dr12': ['_tight', '_medium', '_loose'],
    'spiral-arm-count-dr12': ['_1', '_2', '_3', '_4', '_more-than-4'],
    'merging-dr12': ['_neither', '_tidal-debris', '_both', '_merger'],
}

decals_dr12_ortho_dependencies: Dependencies = {
    'smooth-or-featured-dr12': None,
    'disk-edge-on-dr12': 'smooth-or-featured-dr12_featured-or-disk',
    'has-spiral-arms-dr12': 'disk-edge-on-dr12_no',
    'bar-dr12': 'disk-edge-on-dr12_no',
    'bulge-size-dr12': 'disk-edge-on-dr12_no',
    'how-rounded-dr12': 'smooth-or-featured-dr12_smooth',
    'edge-on-bulge-dr12': 'disk-edge-on-dr12_yes',
    'spiral-winding-dr12': 'has-spiral-arms-dr12_yes',
    'spiral-arm-count-dr12': 'has-spiral-arms-dr12_yes',
    'merging-dr12': None,  # asked after smooth or featured; a tree has one parent, so: always
}

decals_dr5_ortho_pairs: Pairs = {
    'smooth-or-featured-dr5': ['_smooth', '_featured-or-disk', '_artifact'],
    'disk-edge-on-dr5': ['_yes', '_no'],
    'has-spiral-arms-dr5': ['_yes', '_no'],
    'bar-dr5': ['_strong', '_weak', '_no'],
    'bulge-size-dr5': ['_dominant', '_large', '_moderate', '_small', '_none'],
    'how-rounded-dr5': ['_round', '_in-between', '_cigar-shaped'],
    'edge-on-bulge-dr5': ['_boxy', '_none', '_rounded'],
    'spiral-winding-dr5': ['_tight', '_medium', '_loose'],
    'spiral-arm-count-dr5': ['_1', '_2', '_3', '_4', '_more-than-4', '_cant-tell'],
    'merging-dr5': ['_none', '_minor-disturbance', '_major-disturbance', '_merger'],
}

decals_dr5_ortho_dependencies: Dependencies = {
    'smooth-or-featured-dr5': None,
    'disk-edge-on-dr5': 'smooth-or-featured-dr5_featured-or-disk',
    'has-spiral-arms-dr5': 'disk-edge-on-dr5_no',
    'bar-dr5': 'disk-edge-on-dr5_no',
    'bulge-size-dr5': 'disk-edge-on-dr5_no',
    'how-rounded-dr5': 'smooth-or-featured-dr5_smooth',
    'edge-on-bulge-dr5': 'disk-edge-on-dr5_yes',
    'spiral-winding-dr5': 'has-spiral-arms-dr5_yes',
    'spiral-arm-count-dr5': 'has-spiral-arms-dr5_yes',
    'merging-dr5': None,
}

# DR8 asked exactly the DR5 questions
decals_dr8_ortho_pairs, decals_dr8_ortho_dependencies = _rename_questions(
    decals_dr5_ortho_pairs,
    decals_dr5_ortho_dependencies,
    lambda question: question.removesuffix('-dr5') + '-dr8',
)

decals_all_campaigns_ortho_pairs: Pairs = {
    **decals_dr12_ortho_pairs, **decals_dr5_ortho_pairs, **decals_dr8_ortho_pairs
}
# Zoobot 2.x and galaxy-datasets share this one dependencies dict between all DECaLS campaigns
decals_ortho_dependencies: Dependencies = {
    **decals_dr12_ortho_dependencies,
    **decals_dr5_ortho_dependencies,
    **decals_dr8_ortho_dependencies,
}

# DESI: the DR8 tree without the campaign suffix (Zoobot's unsuffixed decals_pairs is the same)
desi_pairs, desi_dependencies = _rename_questions(
    decals_dr8_ortho_pairs, decals_dr8_ortho_dependencies, _remove_suffix('-dr8')
)
decals_pairs: Pairs = {q: list(answers) for q, answers in desi_pairs.items()}
decals_dependencies: Dependencies = dict(desi_dependencies)


# Galaxy Zoo 2 (SDSS)

gz2_ortho_pairs: Pairs = {
    'smooth-or-featured-gz2': ['_smooth', '_featured-or-disk', '_artifact'],
    'disk-edge-on-gz2': ['_yes', '_no'],
    'has-spiral-arms-gz2': ['_yes', '_no'],
    'bar-gz2': ['_yes', '_no'],
    'bulge-size-gz2': ['_dominant', '_obvious', '_just-noticeable', '_no'],
    'something-odd-gz2': ['_yes', '_no'],
    'how-rounded-gz2': ['_round', '_in-between', '_cigar'],
    'bulge-shape-gz2': ['_round', '_boxy', '_no-bulge'],
    'spiral-winding-gz2': ['_tight', '_medium', '_loose'],
    'spiral-arm-count-gz2': ['_1', '_2', '_3', '_4', '_more-than-4', '_cant-tell'],
}

# as in galaxy-datasets, including 'edge-on-bulge-gz2', which the GZ2 pairs leave out (ignored)
gz2_ortho_dependencies: Dependencies = {
    'smooth-or-featured-gz2': None,
    'disk-edge-on-gz2': 'smooth-or-featured-gz2_featured-or-disk',
    'has-spiral-arms-gz2': 'smooth-or-featured-gz2_featured-or-disk',
    'bar-gz2': 'smooth-or-featured-gz2_featured-or-disk',
    'bulge-size-gz2': 'smooth-or-featured-gz2_featured-or-disk',
    'how-rounded-gz2': 'smooth-or-featured-gz2_smooth',
    'bulge-shape-gz2': 'disk-edge-on-gz2_yes',
    'edge-on-bulge-gz2': 'disk-edge-on-gz2_yes',
    'spiral-winding-gz2': 'has-spiral-arms-gz2_yes',
    'spiral-arm-count-gz2': 'has-spiral-arms-gz2_yes',
    'something-odd-gz2': None,  # in GZ2 it follows every answer but artifact; treated as always
}

gz2_pairs, gz2_dependencies = _rename_questions(
    gz2_ortho_pairs, gz2_ortho_dependencies, _remove_suffix('-gz2')
)


# Galaxy Zoo Rings

rings_pairs: Pairs = {'ring': ['_yes', '_no']}
rings_dependencies: Dependencies = {'ring': None}


# Galaxy Zoo Hubble. The clump-configuration questions are left out, as in galaxy-datasets: several
# (not all) of their parent's answers lead to them, which a one-parent tree cannot express.

hubble_pairs: Pairs = {
    'smooth-or-featured': ['_smooth', '_features', '_artifact'],
    'how-rounded': ['_completely', '_in-between', '_cigar-shaped'],
    'clumpy-appearance': ['_yes', '_no'],
    'disk-edge-on': ['_yes', '_no'],
    'bulge-shape': ['_rounded', '_boxy', '_none'],
    'bar': ['_yes', '_no'],
    'has-spiral-arms': ['_yes', '_no'],
    'spiral-winding': ['_tight', '_medium', '_loose'],
    'spiral-arm-count': ['_1', '_2', '_3', '_4', '_5-plus', '_cant-tell'],
    'bulge-size': ['_none', '_just-noticeable', '_obvious', '_dominant'],
    'galaxy-symmetrical': ['_yes', '_no'],
    'clumps-embedded-larger-object': ['_yes', '_no'],
}
hubble_ortho_pairs: Pairs = {q + '-hubble': list(answers) for q, answers in hubble_pairs.items()}

hubble_ortho_dependencies: Dependencies = {
    'smooth-or-featured-hubble': None,
    'how-rounded-hubble': 'smooth-or-featured-hubble_smooth',
    'clumpy-appearance-hubble': 'smooth-or-featured-hubble_features',
    'galaxy-symmetrical-hubble': 'clumpy-appearance-hubble_yes',
    'clumps-embedded-larger-object-hubble': 'clumpy-appearance-hubble_yes',
    'disk-edge-on-hubble': 'clumpy-appearance-hubble_no',
    'bulge-shape-hubble': 'disk-edge-on-hubble_yes',
    'edge-on-bulge-hubble': 'disk-edge-on-hubble_yes',
    'bar-hubble': 'disk-edge-on-hubble_no',
    'has-spiral-arms-hubble': 'disk-edge-on-hubble_no',
    'spiral-winding-hubble': 'disk-edge-on-hubble_no',
    'spiral-arm-count-hubble': 'disk-edge-on-hubble_no',
    'bulge-size-hubble': 'disk-edge-on-hubble_no',
}


# Galaxy Zoo CANDELS (clump questions left out as for Hubble)

candels_pairs: Pairs = {
    'smooth-or-featured': ['_smooth', '_features', '_artifact'],
    'how-rounded': ['_completely', '_in-between', '_cigar-shaped'],
    'clumpy-appearance': ['_yes', '_no'],
    'disk-edge-on': ['_yes', '_no'],
    'edge-on-bulge': ['_yes', '_no'],
    'bar': ['_yes', '_no'],
    'has-spiral-arms': ['_yes', '_no'],
    'spiral-winding': ['_tight', '_medium', '_loose'],
    'spiral-arm-count': ['_1', '_2', '_3', '_4', '_5-plus', '_cant-tell'],
    'bulge-size': ['_none', '_obvious', '_dominant'],
    'merging': ['_merger', '_tidal-debris', '_both', '_neither'],
}
candels_ortho_pairs: Pairs = {q + '-candels': list(answers) for q, answers in candels_pairs.items()}

candels_ortho_dependencies: Dependencies = {
    'smooth-or-featured-candels': None,
    'how-rounded-candels': 'smooth-or-featured-candels_smooth',
    'clumpy-appearance-candels': 'smooth-or-featured-candels_features',
    'disk-edge-on-candels': 'clumpy-appearance-candels_no',
    'edge-on-bulge-candels': 'disk-edge-on-candels_yes',
    'bar-candels': 'disk-edge-on-candels_no',
    'has-spiral-arms-candels': 'disk-edge-on-candels_no',
    'spiral-winding-candels': 'disk-edge-on-candels_no',
    'spiral-arm-count-candels': 'disk-edge-on-candels_no',
    'bulge-size-candels': 'disk-edge-on-candels_no',
    'merging-candels': None,
}


# Galaxy Zoo Cosmic Dawn (HSC): the DECaLS DR5 tree plus clumps and a problem branch

cosmic_dawn_ortho_pairs: Pairs = {
    'smooth-or-featured-cd': ['_smooth', '_featured-or-disk', '_problem'],
    'disk-edge-on-cd': ['_yes', '_no'],
    'has-spiral-arms-cd': ['_yes', '_no'],
    'bar-cd': ['_strong', '_weak', '_no'],
    'bulge-size-cd': ['_dominant', '_large', '_moderate', '_small', '_none'],
    'how-rounded-cd': ['_round', '_in-between', '_cigar-shaped'],
    'edge-on-bulge-cd': ['_boxy', '_none', '_rounded'],
    'spiral-winding-cd': ['_tight', '_medium', '_loose'],
    'spiral-arm-count-cd': ['_1', '_2', '_3', '_4', '_more-than-4', '_cant-tell'],
    'merging-cd': ['_none', '_minor-disturbance', '_major-disturbance', '_merger'],
    'clumps-cd': ['_yes', '_no'],
    'problem-cd': ['_star', '_artifact', '_zoom'],
    'artifact-cd': ['_satellite', '_scattered', '_diffraction', '_ray', '_saturation', '_other'],
}

cosmic_dawn_ortho_dependencies: Dependencies = {
    'smooth-or-featured-cd': None,
    'problem-cd': 'smooth-or-featured-cd_problem',
    'artifact-cd': 'problem-cd_artifact',
    'disk-edge-on-cd': 'smooth-or-featured-cd_featured-or-disk',
    'clumps-cd': 'disk-edge-on-cd_no',
    'has-spiral-arms-cd': 'disk-edge-on-cd_no',
    'bar-cd': 'disk-edge-on-cd_no',
    'bulge-size-cd': 'disk-edge-on-cd_no',
    'how-rounded-cd': 'smooth-or-featured-cd_smooth',
    'edge-on-bulge-cd': 'disk-edge-on-cd_yes',
    'spiral-winding-cd': 'has-spiral-arms-cd_yes',
    'spiral-arm-count-cd': 'has-spiral-arms-cd_yes',
    'merging-cd': None,
}

cosmic_dawn_pairs, cosmic_dawn_dependencies = _rename_questions(
    cosmic_dawn_ortho_pairs, cosmic_dawn_ortho_dependencies, _remove_suffix('-cd')
)


# Galaxy Zoo UKIDSS: the GZ2 tree

ukidss_ortho_pairs: Pairs = {
    'smooth-or-featured-ukidss': ['_smooth', '_featured-or-disk', '_artifact'],
    'disk-edge-on-ukidss': ['_yes', '_no'],
    'has-spiral-arms-ukidss': ['_yes', '_no'],
    'bar-ukidss': ['_yes', '_no'],
    'bulge-size-ukidss': ['_dominant', '_obvious', '_just-noticeable', '_no'],
    'something-odd-ukidss': ['_yes', '_no'],
    'how-rounded-ukidss': ['_round', '_in-between', '_cigar'],
    'bulge-shape-ukidss': ['_round', '_boxy', '_no-bulge'],
    'spiral-winding-ukidss': ['_tight', '_medium', '_loose'],
    'spiral-arm-count-ukidss': ['_1', '_2', '_3', '_4', '_more-than-4', '_cant-tell'],
}

ukidss_ortho_dependencies: Dependencies = {
    'smooth-or-featured-ukidss': None,
    'disk-edge-on-ukidss': 'smooth-or-featured-ukidss_featured-or-disk',
    'has-spiral-arms-ukidss': 'smooth-or-featured-ukidss_featured-or-disk',
    'bar-ukidss': 'smooth-or-featured-ukidss_featured-or-disk',
    'bulge-size-ukidss': 'smooth-or-featured-ukidss_featured-or-disk',
    'how-rounded-ukidss': 'smooth-or-featured-ukidss_smooth',
    'bulge-shape-ukidss': 'disk-edge-on-ukidss_yes',
    'edge-on-bulge-ukidss': 'disk-edge-on-ukidss_yes',
    'spiral-winding-ukidss': 'has-spiral-arms-ukidss_yes',
    'spiral-arm-count-ukidss': 'has-spiral-arms-ukidss_yes',
    'something-odd-ukidss': None,
}


# Galaxy Zoo Euclid: the Cosmic Dawn tree, with ghosts among the artifacts

euclid_ortho_pairs: Pairs = {
    'smooth-or-featured-euclid': ['_smooth', '_featured-or-disk', '_problem'],
    'disk-edge-on-euclid': ['_yes', '_no'],
    'has-spiral-arms-euclid': ['_yes', '_no'],
    'bar-euclid': ['_strong', '_weak', '_no'],
    'bulge-size-euclid': ['_dominant', '_large', '_moderate', '_small', '_none'],
    'how-rounded-euclid': ['_round', '_in-between', '_cigar-shaped'],
    'edge-on-bulge-euclid': ['_boxy', '_none', '_rounded'],
    'spiral-winding-euclid': ['_tight', '_medium', '_loose'],
    'spiral-arm-count-euclid': ['_1', '_2', '_3', '_4', '_more-than-4', '_cant-tell'],
    'merging-euclid': ['_none', '_minor-disturbance', '_major-disturbance', '_merger'],
    'clumps-euclid': ['_yes', '_no'],
    'problem-euclid': ['_star', '_artifact', '_zoom'],
    'artifact-euclid': [
        '_satellite', '_scattered', '_diffraction', '_ray', '_saturation', '_other', '_ghost'
    ],
}

euclid_ortho_dependencies: Dependencies = {
    'smooth-or-featured-euclid': None,
    'problem-euclid': 'smooth-or-featured-euclid_problem',
    'artifact-euclid': 'problem-euclid_artifact',
    'disk-edge-on-euclid': 'smooth-or-featured-euclid_featured-or-disk',
    'clumps-euclid': 'disk-edge-on-euclid_no',
    'has-spiral-arms-euclid': 'disk-edge-on-euclid_no',
    'bar-euclid': 'disk-edge-on-euclid_no',
    'bulge-size-euclid': 'disk-edge-on-euclid_no',
    'how-rounded-euclid': 'smooth-or-featured-euclid_smooth',
    'edge-on-bulge-euclid': 'disk-edge-on-euclid_yes',
    'spiral-winding-euclid': 'has-spiral-arms-euclid_yes',
    'spiral-arm-count-euclid': 'has-spiral-arms-euclid_yes',
    'merging-euclid': None,
}

euclid_pairs, euclid_dependencies = _rename_questions(
    euclid_ortho_pairs, euclid_ortho_dependencies, _remove_suffix('-euclid')
)


# Galaxy Zoo JWST (CEERS)

jwst_ortho_pairs: Pairs = {
    'smooth-or-featured-jwst': ['_smooth', '_featured-or-disk', '_star-artifact-zoom'],
    'disk-edge-on-jwst': ['_yes', '_no'],
    'has-spiral-arms-jwst': ['_yes', '_no'],
    'bar-jwst': ['_strong', '_weak', '_no'],
    'bulge-size-jwst': ['_dominant', '_large', '_moderate', '_small', '_none'],
    'how-rounded-jwst': ['_round', '_in-between', '_cigar-shaped'],
    'edge-on-bulge-jwst': ['_boxy', '_none', '_rounded'],
    'spiral-winding-jwst': ['_tight', '_medium', '_loose'],
    'spiral-arm-count-jwst': ['_1', '_2', '_3', '_4', '_more-than-4', '_cant-tell'],
    'clumps-jwst': ['_yes', '_no'],
    'merging-jwst': ['_none', '_minor-disturbance', '_major-disturbance', '_merger'],
    'problem-jwst': ['_star', '_artifact', '_bad-zoom'],
}

jwst_ortho_dependencies: Dependencies = {
    'smooth-or-featured-jwst': None,
    'disk-edge-on-jwst': 'smooth-or-featured-jwst_featured-or-disk',
    'has-spiral-arms-jwst': 'disk-edge-on-jwst_no',
    'bar-jwst': 'disk-edge-on-jwst_no',
    'bulge-size-jwst': 'disk-edge-on-jwst_no',
    'how-rounded-jwst': 'smooth-or-featured-jwst_smooth',
    'edge-on-bulge-jwst': 'disk-edge-on-jwst_yes',
    'spiral-winding-jwst': 'has-spiral-arms-jwst_yes',
    'spiral-arm-count-jwst': 'has-spiral-arms-jwst_yes',
    'merging-jwst': None,
    'clumps-jwst': None,
    'problem-jwst': 'smooth-or-featured-jwst_star-artifact-zoom',
}


# GZ Evo v1: every campaign above that Zoobot 2.x pretrains on, side by side

gz_evo_v1_pairs: Pairs = {
    **decals_all_campaigns_ortho_pairs,
    **gz2_ortho_pairs,
    **candels_ortho_pairs,
    **hubble_ortho_pairs,
    **cosmic_dawn_ortho_pairs,
}
gz_evo_v1_dependencies: Dependencies = {
    **decals_ortho_dependencies,
    **gz2_ortho_dependencies,
    **candels_ortho_dependencies,
    **hubble_ortho_dependencies,
    **cosmic_dawn_ortho_dependencies,
}


@dataclass(frozen=True)
class _Tree:
    description: str
    pairs: Mapping[str, list[str]]
    dependencies: Mapping[str, str | None]


# Order matters only where two trees have identical columns (detect_schema picks the first).
_TREES: dict[str, _Tree] = {
    'gz2': _Tree('Galaxy Zoo 2 (SDSS); questions end in -gz2', gz2_ortho_pairs,
                 gz2_ortho_dependencies),
    'gz2_unsuffixed': _Tree('Galaxy Zoo 2 (SDSS) without the -gz2 suffix', gz2_pairs,
                            gz2_dependencies),
    'decals_dr5': _Tree('Galaxy Zoo DECaLS, GZD-5 campaign; questions end in -dr5',
                        decals_dr5_ortho_pairs, decals_ortho_dependencies),
    'decals_dr8': _Tree('Galaxy Zoo DECaLS, GZD-8 campaign (same tree as DR5); questions end in -dr8',
                        decals_dr8_ortho_pairs, decals_ortho_dependencies),
    'decals_dr12': _Tree('Galaxy Zoo DECaLS, GZD-1/2 campaigns; questions end in -dr12',
                         decals_dr12_ortho_pairs, decals_ortho_dependencies),
    'decals_all_campaigns': _Tree('Galaxy Zoo DECaLS, DR1/2, DR5 and DR8 campaigns side by side',
                                  decals_all_campaigns_ortho_pairs, decals_ortho_dependencies),
    'desi': _Tree('Galaxy Zoo DESI / DECaLS DR5-DR8 tree without campaign suffix', desi_pairs,
                  desi_dependencies),
    'gz_candels': _Tree('Galaxy Zoo CANDELS (HST); questions end in -candels', candels_ortho_pairs,
                        candels_ortho_dependencies),
    'gz_hubble': _Tree('Galaxy Zoo Hubble (HST); questions end in -hubble', hubble_ortho_pairs,
                       hubble_ortho_dependencies),
    'cosmic_dawn': _Tree('Galaxy Zoo Cosmic Dawn (HSC); questions end in -cd',
                         cosmic_dawn_ortho_pairs, cosmic_dawn_ortho_dependencies),
    'cosmic_dawn_unsuffixed': _Tree('Galaxy Zoo Cosmic Dawn (HSC) without the -cd suffix',
                                    cosmic_dawn_pairs, cosmic_dawn_dependencies),
    'gz_rings': _Tree('Galaxy Zoo Rings: one yes/no question', rings_pairs, rings_dependencies),
    'gz_ukidss': _Tree('Galaxy Zoo UKIDSS (GZ2 tree); questions end in -ukidss', ukidss_ortho_pairs,
                       ukidss_ortho_dependencies),
    'euclid': _Tree('Galaxy Zoo Euclid; questions end in -euclid', euclid_ortho_pairs,
                    euclid_ortho_dependencies),
    'euclid_unsuffixed': _Tree('Galaxy Zoo Euclid without the -euclid suffix', euclid_pairs,
                               euclid_dependencies),
    'jwst': _Tree('Galaxy Zoo JWST (CEERS); questions end in -jwst', jwst_ortho_pairs,
                  jwst_ortho_dependencies),
    'gz_evo': _Tree('GZ Evo v1: DECaLS, GZ2, CANDELS, Hubble and Cosmic Dawn side by side '
                    '(Zoobot 2.x pretraining)', gz_evo_v1_pairs, gz_evo_v1_dependencies),
}

# Other names users know: Zoobot 2.x schema names (without "_schema") and survey nicknames.
_ALIASES: dict[str, str] = {
    'decals_unsuffixed': 'desi',
    'gz_desi': 'desi',
    'decals_dr5_ortho': 'decals_dr5',
    'decals_dr8_ortho': 'decals_dr8',
    'decals_dr12_ortho': 'decals_dr12',
    'decals_all_campaigns_ortho': 'decals_all_campaigns',
    'gz2_ortho': 'gz2',
    'gz_candels_ortho': 'gz_candels',
    'candels': 'gz_candels',
    'gz_hubble_ortho': 'gz_hubble',
    'hubble': 'gz_hubble',
    'cosmic_dawn_ortho': 'cosmic_dawn',
    'hsc': 'cosmic_dawn',
    'rings': 'gz_rings',
    'ukidss': 'gz_ukidss',
    'euclid_ortho': 'euclid',
    'gz_euclid': 'euclid',
    'gz_jwst': 'jwst',
    'ceers': 'jwst',
    'gz_evo_v1': 'gz_evo',
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


@lru_cache(maxsize=None)
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


def describe_schema(name: str) -> str:
    """A one-line description of a named tree, with its size, for menus and the command line.

    Raises:
        SchemaError: unknown name.
    """
    key = _resolve(name)
    schema = get_schema(key)
    return (
        f"{_TREES[key].description} ({len(schema.questions)} questions, "
        f"{len(schema.answers)} answers)"
    )


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
