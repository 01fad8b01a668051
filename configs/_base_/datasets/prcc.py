# PRCC: clothes-changing; query = cameras B (same clothes) + C (changed), gallery = A.
# The metric reports sc/* and cc/* from the query camera against all of camera A (CAL's
# numbers); single_shot=True scores CAL's 10 single-shot galleries instead. Sizes follow CAL.
# The dataloaders and evaluator: ./_reid_dataset.py, written with late
# references to the facts below (a child config or --cfg-options
# data_root=... changes them everywhere).
_base_ = ['./_reid_dataset.py']
dataset_type = 'PRCC'
data_root = 'data/prcc'
img_size = (384, 192)  # (height, width)
protocol = 'prcc'
val_evaluator = dict(single_shot=False)
test_evaluator = val_evaluator
