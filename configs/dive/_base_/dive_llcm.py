# DiVE on LLCM: infrared cameras 1, 2, 4-9 (the official test code's NIR
# cameras); Market-1501 as camera 10.
_base_ = ['./dive_common.py']
dive_ir_cameras = (1, 2, 4, 5, 6, 7, 8, 9)
dive_external_camid = 10
dive_num_variants = _base_.dive_images_per_camera * len(dive_ir_cameras)
