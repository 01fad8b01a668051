# Vehicle-Diff on VeRi-776, Swin-V2-B: real + synthetic mixed at random ("D",
# Table II: 97.38 R1 / 80.98 mAP), otherwise as ./veri776_swinv2_b.py.
_base_ = ['./veri776_swinv2_b.py']

train_dataloader = dict(sampler='${vd_sampler_mixed}')
