"""rsseg's own files and the policy every rsseg writer follows; the bottom layer of the package.

* :mod:`~rsseg.formats.manifest`: the chip manifest the tiler writes and the datasets read;
* :mod:`~rsseg.formats.palette`: palette files (class names and colours) and colour-mask encoding;
* :mod:`~rsseg.formats.label_coding`: how raw label pixels (values or colours) map to class indices;
* :mod:`~rsseg.formats.sample_fields`: data-sample field names the datasets write and the models read;
* :mod:`~rsseg.formats.files`: write-verify-rename, paths confined to their folder, one writer per folder;
* :mod:`~rsseg.formats.errors`: the errors that name a bad input file.

Imports numpy and rasterio (the raster check of the write policy) only: never torch, mmengine, mmcv or mmseg
(an import-linter contract, ``.importlinter``).
"""
