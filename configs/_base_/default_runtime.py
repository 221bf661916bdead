# rsseg runtime: mmseg's defaults + the plugin import, CPU-friendly dist backend, per-class IoU/F1 evaluation.
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['rsseg.plugin'], allow_failed_imports=False)
default_scope = 'mmseg'
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer', alpha=0.5)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
