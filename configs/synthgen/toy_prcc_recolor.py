# Recoloured clothes variants of the toy PRCC (DLCR-style data expansion on CPU).
#   python tools/make_toy_data.py ...            # writes data/toy/prcc
#   python tools/generate.py configs/synthgen/toy_prcc_recolor.py
#   torchrun --nproc_per_node=2 tools/generate.py \
#       configs/synthgen/toy_prcc_recolor.py --launcher pytorch
# Output: <work_dir>/synthgen/manifest.rank*.jsonl + images/.
# Another PRCC-layout root: --cfg-options data_root=data/prcc
_base_ = ['../_base_/generation/recolor_inpaint.py']

data_root = 'data/toy/prcc'
