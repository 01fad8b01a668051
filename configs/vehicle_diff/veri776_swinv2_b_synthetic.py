# Vehicle-Diff on VeRi-776, Swin-V2-B trained on synthetic images only ("S",
# Table II: 74.14 R1 / 34.73 mAP), tested on VeRi-776.
_base_ = ['./veri776_swinv2_b.py']

train_dataloader = dict(sampler='${vd_sampler_identity}',
                        dataset='${vd_dataset_synthetic}')
