"""A Zoobot 2.x documentation-style script, run end to end on the CPU with a tiny model.

Only Zoobot 2.x import paths and names are used (plus this package's ``CatalogDataModule``, which
takes galaxy-datasets' argument names), so existing user scripts keep working.
"""

from __future__ import annotations

import pandas as pd


def test_zoobot_docs_script(make_catalog, tmp_path):
    # -- the script, as a Zoobot user would write it --
    from zoobot.data import CatalogDataModule
    from zoobot.pytorch.predictions import predict_on_catalog
    from zoobot.pytorch.training import finetune
    from zoobot.shared.schemas import Schema

    encoder_name = "test_convnext"  # in real use: 'hf_hub:mwalmsley/zoobot-encoder-convnext_nano'
    datamodule_kwargs = {"batch_size": 8, "num_workers": 0}
    trainer_kwargs = {"accelerator": "cpu", "devices": 1}

    # 1. Binary classification: "is this galaxy a ring?"
    catalog = make_catalog(n=20, size=32, task="classification")
    datamodule = CatalogDataModule(label_cols=["label"], catalog=catalog, input_size=32, **datamodule_kwargs)
    model = finetune.FinetuneableZoobotClassifier(name=encoder_name, num_classes=2, n_blocks=1, learning_rate=1e-3)
    trainer = finetune.get_trainer(tmp_path / "classifier", max_epochs=1, enable_progress_bar=False, **trainer_kwargs)
    trainer.fit(model, datamodule)
    best = finetune.FinetuneableZoobotClassifier.load_from_checkpoint(trainer.checkpoint_callback.best_model_path)
    classes = predict_on_catalog.predict(
        catalog,
        best,
        save_loc=str(tmp_path / "ring_predictions.csv"),
        label_cols=["ring"],
        datamodule_kwargs={**datamodule_kwargs, "input_size": 32},
        trainer_kwargs=trainer_kwargs,
    )

    # 2. Regression: a continuous value in [0, 1].
    catalog = make_catalog(n=20, size=32, task="regression")
    datamodule = CatalogDataModule(label_cols=["target"], catalog=catalog, input_size=32, **datamodule_kwargs)
    model = finetune.FinetuneableZoobotRegressor(
        name=encoder_name, label_col="target", unit_interval=True, training_mode="head_only", learning_rate=1e-3
    )
    trainer = finetune.get_trainer(tmp_path / "regressor", max_epochs=2, enable_progress_bar=False, **trainer_kwargs)
    trainer.fit(model, datamodule)
    values = predict_on_catalog.predict(
        catalog,
        model,
        save_loc=str(tmp_path / "regression_predictions.parquet"),
        datamodule_kwargs={**datamodule_kwargs, "input_size": 32},
        trainer_kwargs=trainer_kwargs,
    )

    # 3. A decision tree of Galaxy Zoo vote counts.
    question_answer_pairs = {"smooth-or-featured": ["_smooth", "_featured"], "has-bar": ["_yes", "_no"]}
    dependencies = {"smooth-or-featured": None, "has-bar": "smooth-or-featured_featured"}
    schema = Schema(question_answer_pairs, dependencies)
    catalog = make_catalog(n=20, size=32, task="tree")
    datamodule = CatalogDataModule(label_cols=schema.label_cols, catalog=catalog, input_size=32, **datamodule_kwargs)
    model = finetune.FinetuneableZoobotTree(name=encoder_name, schema=schema, learning_rate=1e-3)
    trainer = finetune.get_trainer(tmp_path / "tree", max_epochs=1, enable_progress_bar=False, **trainer_kwargs)
    trainer.fit(model, datamodule)
    votes = predict_on_catalog.predict(
        catalog,
        model,
        save_loc=str(tmp_path / "tree_predictions.csv"),
        label_cols=schema.label_cols,
        datamodule_kwargs={**datamodule_kwargs, "input_size": 32},
        trainer_kwargs=trainer_kwargs,
    )

    # -- what the user gets --
    assert list(pd.read_csv(tmp_path / "ring_predictions.csv").columns) == ["ring", "id_str", "predicted_class"]
    assert classes["ring"].between(0, 1).all()
    assert values["target"].between(0, 1).all()
    assert len(pd.read_parquet(tmp_path / "regression_predictions.parquet")) == 20
    expected = {"has-bar_yes", "has-bar_yes_fraction", "has-bar_yes_90pc-lower", "has-bar_yes_90pc-upper"}
    assert expected <= set(votes.columns)
    assert len(votes) == 20
