"""Zoobot 2.x import path: thin re-export of :mod:`zoobot.predict`."""

from zoobot.predict import predict, predict_on_catalog

__all__ = ["predict", "predict_on_catalog"]
