"""The public API is documented and typed, and the library never imports a UI toolkit."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

MODULES = [
    "zoobot.schemas",
    "zoobot.trees",
    "zoobot.losses",
    "zoobot.images",
    "zoobot.catalog",
    "zoobot.data",
    "zoobot.datasets",
    "zoobot.encoders",
    "zoobot.finetune",
    "zoobot.predict",
    "zoobot.representations",
    "zoobot.scratch",
    "zoobot.survey",
    "zoobot.config",
    "zoobot.evaluate",
    "zoobot.assets",
    "zoobot.cli",
    "zoobot.tasks",
    "zoobot.runs",
    "zoobot.runs.config",
    "zoobot.runs.folder",
    "zoobot.runs.atomic",
    "zoobot.runs.progress",
    "zoobot.runs.pipeline",
    "zoobot.runs.model",
    # the modules behind the packages above (a member is checked in the module that defines it)
    "zoobot.survey.errors",
    "zoobot.survey.morphology",
    "zoobot.survey.rendering",
    "zoobot.survey.volunteers",
    "zoobot.survey.writer",
    "zoobot.schemas.schema",
    "zoobot.schemas.questions",
    "zoobot.schemas.validation",
    "zoobot.schemas.formats",
    "zoobot.trees.registry",
    "zoobot.trees.dicts",
    "zoobot.trees.decals",
    "zoobot.trees.gz2",
    "zoobot.trees.hst",
    "zoobot.trees.cosmic_dawn",
    "zoobot.trees.jwst",
    "zoobot.trees.rings",
    "zoobot.trees.gz_evo",
    "zoobot.catalog.reading",
    "zoobot.catalog.validation",
    "zoobot.catalog.labels",
    "zoobot.catalog.fixes",
    "zoobot.catalog.report",
    "zoobot.survey.truth",
    "zoobot.active_learning",
    "zoobot.uncertainty",
    "zoobot.uncertainty.intervals",
    "zoobot.uncertainty.sampling",
    "zoobot.uncertainty.information",
    "zoobot.uncertainty.calibration",
    "zoobot.uncertainty.corrections",
    "zoobot.uncertainty.report",
    "zoobot.uncertainty.acquisition",
    "zoobot.uncertainty.columns",
]
# Modules inside the packages: their public names are checked where they are defined.
PACKAGE_MODULES = [
    "zoobot.inference",
    "zoobot.transforms",
    "zoobot.encoders.cards",
    "zoobot.encoders.loading",
    "zoobot.encoders.layers",
    "zoobot.finetune.settings",
    "zoobot.finetune.translation",
    "zoobot.finetune.base",
    "zoobot.finetune.stage_metrics",
    "zoobot.finetune.classifier",
    "zoobot.finetune.regressor",
    "zoobot.finetune.tree",
    "zoobot.finetune.layer_decay",
    "zoobot.finetune.trainer",
    "zoobot.finetune.checkpoints",
    "zoobot.finetune.sources",
    "zoobot.finetune.heads",
    "zoobot.finetune.losses",
    "zoobot.finetune.encoder_source",
    "zoobot.finetune.encoder_module",
    "zoobot.scratch.tree",
    "zoobot.scratch.training",
]


def public_members(module):
    for name, member in vars(module).items():
        if name.startswith("_") or getattr(member, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(member) or inspect.isclass(member):
            yield name, member


@pytest.mark.parametrize("module_name", MODULES + PACKAGE_MODULES)
def test_public_functions_and_classes_have_docstrings_and_type_hints(module_name):
    module = importlib.import_module(module_name)
    assert module.__doc__, f"{module_name} has no module docstring"
    undocumented, untyped = [], []
    for name, member in public_members(module):
        if not inspect.getdoc(member):
            undocumented.append(name)
        function = member.__init__ if inspect.isclass(member) else member
        if inspect.isclass(member) and function is object.__init__:
            continue
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue
        for parameter in signature.parameters.values():
            if parameter.name in ("self", "cls") or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if parameter.annotation is inspect.Parameter.empty:
                untyped.append(f"{name}({parameter.name})")
    assert not undocumented, f"{module_name}: no docstring on {undocumented}"
    assert not untyped, f"{module_name}: parameters without type hints: {untyped}"


def test_the_library_never_imports_gradio():
    code = (
        "import sys, zoobot.config, zoobot.finetune, zoobot.predict, zoobot.representations, "
        "zoobot.survey, zoobot.cli, zoobot.scratch, zoobot.catalog; "
        "print('gradio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_zoobot_is_cheap():
    code = "import sys, zoobot, zoobot.config, zoobot.runs, zoobot.tasks, zoobot.schemas; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
