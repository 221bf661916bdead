"""Tile whole scenes of one domain into georeferenced chip GeoTIFFs and an rsseg manifest.

Pipeline (:func:`tile_scenes`, :mod:`.run`):

1. **Inspect** every scene (in parallel, :mod:`.inspection`): open it, check bands, plan its common grid
   (:mod:`rsseg.geo.grid`), check its label lies on the image's grid and holds only known classes / colours (the
   whole label is scanned, so every unknown value is reported with its pixel count before any chip is written), and
   sample pixels for the normalisation statistics of non-8-bit imagery (written by :mod:`.norm_stats`).
2. **Tile** (in parallel, each worker opening its own file handles; :mod:`.pool`, :mod:`.scheduler`): a scene's
   windows (:func:`~rsseg.geo.tiling.iter_windows`) are cut into groups (:mod:`.jobs`); a worker (:mod:`.worker`)
   reads a group's whole extent once on the common grid (through a ``WarpedVRT`` when resampling or reprojecting),
   then writes each chip whose valid fraction reaches ``min_valid``: the image chip in the source dtype with CRS,
   window transform and nodata (or an internal mask); the label chip as uint8 class indices with nodata → 255 and a
   colour table.
3. **Record** (:mod:`.resume`): when every group of a scene is done, its records go to ``OUT/.tiles/<scene>.json``
   (temporary name, then rename). A rerun skips scenes whose record matches the settings and input files; a killed
   run leaves no partial file (chips too are written under temporary names). Finally the manifest
   (``OUT/manifest.json``, :mod:`.manifest`) is written from the scene records with a deterministic, seeded split
   *by scene* (:mod:`.splits`), plus the normalisation sidecar(s).

Output layout (:mod:`.layout`): ``OUT/img_dir/<scene>_r<row>_c<col>.tif``, ``OUT/ann_dir/<same>.tif``,
``OUT/norm_stats.json`` (per domain) or ``OUT/norm_stats/<scene>.json`` (per scene), ``OUT/manifest.json``.
Settings: :class:`TileConfig` (:mod:`.config`); outcome: :class:`TileReport` (:mod:`.report`).
"""
from .config import TileConfig
from .errors import TilerWarning, TilingError, merge_scene_warnings
from .report import TileReport
from .run import tile_scenes
from .scene_plan import ScenePlan
from .splits import assign_splits

__all__ = ['tile_scenes', 'TileConfig', 'TileReport', 'TilingError', 'TilerWarning', 'ScenePlan', 'assign_splits',
           'merge_scene_warnings']
