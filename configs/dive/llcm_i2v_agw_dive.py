# AGW + DiVE on llcm_i2v: the VI training set plus Market-1501 identities
# (RGB images as one more visible camera) and their generated infrared
# images, in one identity space (V* = V + V_ext, I* = I + I_ext).
# The data steps (vocabulary -> fine-tuning -> infrared generation) are
# described by the dive_* variables (./_base_/dive_common.py); the
# generated manifests are read from <dive_root>/ir. The 'reidkit.' type
# prefixes keep the train set buildable after the fine-tuning stage, whose
# runner leaves mmengine's default scope at 'synthgen'.
_base_ = ['./llcm_i2v_agw.py', './_base_/dive_llcm.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='reidkit.ReIDConcatDataset',
    pipeline=_base_.train_dataloader.dataset.pipeline,
    datasets=[
        dict(type='reidkit.LLCM', data_root='data/llcm', split='train'),
        dict(_base_.dive_external, type='reidkit.DiVEExternalDataset',
             camid=_base_.dive_external_camid,
             synthetic_root=_base_.dive_root + '/ir'),
    ]))
