# Source-only baseline, CPU-sized: train on Dubai Tile 1, validate (mIoU, per-class IoU/F1) on Tile 2.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-tiny.py', '../_base_/datasets/dubai-demo.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_tiny.py'
]
crop_size = (128, 128)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
randomness = dict(seed=0)
