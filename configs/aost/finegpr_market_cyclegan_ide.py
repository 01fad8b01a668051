# Style-transfer ablation: CycleGAN (SPGAN without the Siamese contrastive loss).
_base_ = ['./finegpr_market_ide.py']

translator = dict(model=dict(contrastive_weight=0.0),
                  optim_wrapper=dict(_delete_=True,
                                     constructor='ReIDOptimWrapperConstructor',
                                     model=_base_.adam_gan,
                                     discriminator=_base_.adam_gan))
