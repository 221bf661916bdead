"""rsseg's command lines, one module per command: its argument parser and ``main(argv=None) -> int``.

``main`` raises on bad input; ``cli()`` (the console scripts of ``setup.py``, ``python -m rsseg.cli.NAME``) and the
scripts in ``tools/`` and ``data_prep/`` run it through :func:`rsseg.utils.cli.run_cli`, which turns a user error
into one ``error:`` line and a non-zero exit.

| command | console script | script |
|---|---|---|
| :mod:`~rsseg.cli.train` | ``rsseg-train`` | ``tools/train.py`` |
| :mod:`~rsseg.cli.test` | ``rsseg-test`` | ``tools/test.py`` |
| :mod:`~rsseg.cli.pretrain` | ``rsseg-pretrain`` | ``tools/pretrain.py`` |
| :mod:`~rsseg.cli.infer` | ``rsseg-infer`` | ``tools/infer.py`` |
| :mod:`~rsseg.cli.demo` | ``rsseg-demo`` | ``tools/demo.py`` |
| :mod:`~rsseg.cli.plot_curves` | ``rsseg-plot-curves`` | ``tools/plot_curves.py`` |
| :mod:`~rsseg.cli.tile` | ``rsseg-tile`` | ``data_prep/tile_scenes.py`` |
| :mod:`~rsseg.cli.convert_color_masks` | ``rsseg-convert-masks`` | ``data_prep/convert_color_masks.py`` |
| :mod:`~rsseg.cli.convert_potsdam` | ``rsseg-convert-potsdam`` | ``data_prep/convert_potsdam.py`` |
| :mod:`~rsseg.cli.convert_vaihingen` | ``rsseg-convert-vaihingen`` | ``data_prep/convert_vaihingen.py`` |
| :mod:`~rsseg.cli.convert_loveda` | ``rsseg-convert-loveda`` | ``data_prep/convert_loveda.py`` |

The tiler and the converters (``tile``, ``convert_*``, ``converter_args``) import no torch, mmengine, mmcv or mmseg
(the ``torch-free`` contract of ``.importlinter``). This package imports none of its modules.
"""
