"""The engine: the app's state and everything the tabs ask of it that is not UI.

- :mod:`app.engine.core`: :class:`Engine` (runs folder, job manager, limits, the session's working
  catalog and its checks), :class:`AppInputError`.
- :mod:`app.engine.sources`: where a catalog comes from (demo survey, file, upload).
- :mod:`app.engine.training`: starting a run (folder, catalog copy, ``config.yaml``, job) and where
  a session's runs stand.
- :mod:`app.engine.maps`: UMAP maps as jobs, the map's table and a galaxy's neighbours.

Everything computed here goes through zoobot's public API; the engine decides *where* things are
kept (per session, under the runs folder; a run's files through ``zoobot.runs.RunFolder``) and runs
long work as background jobs. The library imports the heavy modules (torch, lightning, timm, umap)
inside the job functions, so the first page is served quickly.
"""

from app.engine.core import AppInputError, CatalogCheck, Engine

__all__ = ["AppInputError", "CatalogCheck", "Engine"]
