# DiVE on SYSU-MM01: infrared cameras 3 and 6; Market-1501 as camera 7 (the
# authors' cam7).
_base_ = ['./dive_common.py']
dive_ir_cameras = (3, 6)
dive_external_camid = 7
dive_num_variants = _base_.dive_images_per_camera * len(dive_ir_cameras)
