"""A synthetic galaxy survey with known truth: the app's demo data set and our benchmark.

Each galaxy is drawn from known morphology parameters (:func:`sample_morphology`), rendered as a
DECaLS-like g, r, z colour composite (:func:`render_galaxy`), and classified by simulated Galaxy Zoo
volunteers who walk the real GZ DECaLS DR5 decision tree (:func:`simulate_votes`).
:func:`make_survey` does all three for a whole survey and writes the images and ``catalog.csv``.

Sizes in :class:`GalaxyParams` are fractions of the image width, and surface brightness is kept per
pixel, so the same galaxy looks the same at 64 or 256 pixels. Fluxes are in nanomaggies
(magnitude 22.5 is one nanomaggy), as in the Legacy Surveys.

One module per step: :mod:`~zoobot.survey.morphology` (the true parameters and their population),
:mod:`~zoobot.survey.rendering` (the image), :mod:`~zoobot.survey.volunteers` (the votes) and
:mod:`~zoobot.survey.writer` (the images and the catalog on disk). :mod:`~zoobot.survey.truth` gives the exact
answer probabilities behind the votes (:func:`answer_probabilities`), the truth a vote-count model
estimates.
"""

from __future__ import annotations

from zoobot.survey.errors import SurveyError
from zoobot.survey.morphology import (
    BAR_LABELS,
    Artifact,
    BarStrength,
    Disturbance,
    EdgeOnBulge,
    GalaxyParams,
    Morphology,
    Winding,
    sample_morphology,
)
from zoobot.survey.rendering import render_galaxy
from zoobot.survey.truth import answer_probabilities, catalog_answer_probabilities, params_from_row
from zoobot.survey.volunteers import SCHEMA_NAME, sample_volunteer_count, simulate_votes
from zoobot.survey.writer import CATALOG_NAME, IMAGE_FOLDER, ImageFormat, make_survey

__all__ = [
    "BAR_LABELS",
    "CATALOG_NAME",
    "IMAGE_FOLDER",
    "SCHEMA_NAME",
    "Artifact",
    "BarStrength",
    "Disturbance",
    "EdgeOnBulge",
    "GalaxyParams",
    "ImageFormat",
    "Morphology",
    "SurveyError",
    "Winding",
    "answer_probabilities",
    "catalog_answer_probabilities",
    "make_survey",
    "params_from_row",
    "render_galaxy",
    "sample_morphology",
    "sample_volunteer_count",
    "simulate_votes",
]
