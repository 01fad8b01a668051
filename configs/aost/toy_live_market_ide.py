# Beyond the paper: the search drives a live generator (the toy renderer,
# plugins/aost/live.py) instead of filtering a pre-rendered FineGPR. A probe of
# `probe_ids` identities in every setting of `probe_grid` feeds the distances and
# the search; the renderer then draws the `num_ids` training identities ONLY in
# the selected settings; translation, IDE training and test follow as in AOST.
#   python tools/train.py configs/aost/toy_live_market_ide.py
_base_ = ['./finegpr_market_ide.py']

probe_ids = 9                 # one per background
num_ids = 1150                # the paper's identities
probe_grid = None             # None = all 36 x 7 x 7 settings
render_root = '${aost_root}/rendered'
data_root = '${render_root}'  # what select / translate / AO training read

render_stages = [
    dict(name='probe', type='ToyFineGPRRenderStage',
         out_root='${aost_root}/probe', num_ids='${probe_ids}',
         size='${img_size}', grid='${probe_grid}', seed=1),
    dict(name='render', type='ToyFineGPRRenderStage', out_root='${render_root}',
         num_ids='${num_ids}', size='${img_size}',
         selection_file='${aost_root}/aost/selection.json', seed=0),
]
aost_stages = _base_.aost_stages
aost_stages[0]['source_root'] = '${aost_root}/probe'   # distances on the probe
aost_stages[2]['source_root'] = '${aost_root}/probe'   # search over its values
stages = ([render_stages[0]] + aost_stages[:3] + [render_stages[1]]
          + aost_stages[3:] + _base_.transfer_stages + _base_.reid_stages)
