# CAJ + DiVE on llcm: the VI training set plus Market-1501 identities
# (RGB images as one more visible camera) and their generated infrared
# images, in one identity space (V* = V + V_ext, I* = I + I_ext).
# The data steps (vocabulary -> fine-tuning -> infrared generation) are
# described by the dive_* variables (./_base_/dive_common.py); the
# generated manifests are read from <dive_root>/ir.
_base_ = ['./llcm_caj.py', './_base_/dive_llcm.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ReIDConcatDataset',
    pipeline=_base_.train_dataloader.dataset.pipeline,
    datasets=[
        dict(type='LLCM', data_root='data/llcm', split='train'),
        dict(_base_.dive_external, camid=_base_.dive_external_camid,
             synthetic_root=_base_.dive_root + '/ir'),
    ]))
