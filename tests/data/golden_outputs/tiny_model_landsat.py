"""The tiny model with recorded data settings: Landsat bands 3, 2, 1 at 57 m, stretched by fixed percentiles."""
_base_ = ['./tiny_model.py']
infer_settings = dict(bands=[3, 2, 1], gsd=57.0,
                      norm_stats=dict(low=[40.0, 49.0, 67.0], high=[134.0, 113.0, 122.0], bands=[3, 2, 1],
                                      percentiles=[2.0, 98.0], scope='scene', dtype='float32'))
