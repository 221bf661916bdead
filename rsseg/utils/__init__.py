"""Small shared helpers: safe checkpoint loading, pretrained starts, config checks, warm starts, CLI error handling.

Import the module you need (``rsseg.utils.cli``, ``rsseg.utils.checkpoint``...): this package imports none of them,
so ``rsseg.utils.cli`` stays free of torch for the tiler's command line.
"""
