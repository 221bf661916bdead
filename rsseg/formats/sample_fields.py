"""Names of the data-sample fields rsseg's datasets write and its models read, beyond mmseg's ``gt_sem_seg``.

They live here, below both :mod:`rsseg.datasets` (which writes them) and :mod:`rsseg.models` (which reads them), so
neither part imports the other.
"""

# Target labels kept for the training log only (``PairedDomainDataset(log_target_labels=True)``); no loss reads
# this field: the segmentors log their pseudo-labels' accuracy against it (benchmarks on labelled targets).
TARGET_LOG_FIELD = 'gt_log_seg'
