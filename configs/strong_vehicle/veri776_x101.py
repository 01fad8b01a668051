# Strong vehicle baseline on VeRi-776, every stage of the recipe
# (./_base_/pipeline.py). The paper's anchor, 87.1 mAP / 97.0 R1, is the
# single model without post-processing: the `test` stage (Market-style
# protocol). The chain (postprocess.json) runs without tracks: VeRi-776's
# usual protocol ranks images, not tracks, so there is no tracklet row and
# the ensemble is not grouped (the release's test_track.txt would allow
# use_tracks=True):
#   baseline -> + re-ranking -> + orientation/camera -> + ensemble
#   python tools/train.py configs/strong_vehicle/veri776_x101.py
_base_ = ['../_base_/datasets/veri776.py', './_base_/pipeline.py']
custom_imports = dict(imports=['plugins.strong_vehicle'],
                      allow_failed_imports=False)
img_size = (320, 320)
use_tracks = False
train_pipeline = {{_base_.sv_train_pipeline}}
train_dataloader = dict(batch_size={{_base_.batch_size}},
                        sampler={{_base_.sv_sampler}})
stages = '${sv_stages}'
