"""Vehicle-Diff's own stage: pick 1 % of the target's training images and caption them.

The other stages of the paper path are reidkit's: ``FinetuneStage`` (LoRA on
the UNet decoder), ``GenerateStage`` (prompt library -> SDXL -> detection crop
-> CLIP colour check), ``TrainStage`` and ``TestStage``; see
``configs/vehicle_diff/_base_/vehicle_diff.py``.
"""
from __future__ import annotations

from typing import Any, List, Optional

from reidkit.stages import STAGES, Stage

from .target import caption_target

__all__ = ['TargetCaptionStage']


@STAGES.register_module()
class TargetCaptionStage(Stage):
    """Caption a seeded random 1 % of the target's training images (BLIP-2).

    Writes ``out_file``: ``{path relative to the dataset root: caption}``,
    the ``ann_file`` of the fine-tuning ``CaptionedImageDataset`` whose
    ``data_root`` is the dataset root. Resumable (captions are cached next
    to it); rank 0 captions, the other ranks wait.

    Args:
        dataset (dict): reidkit dataset config of the target's train split.
        captioner (dict): ``VLMCaptioner`` config (``model_type='blip2'``,
            ``question=''``).
        out_file (str): The captions file.
        fraction (float): Share of the training images (0.01).
        seed (int): Selection seed.
        num_images (int, optional): Exact number instead of ``fraction``.
        **kwargs: name, cfg, work_dir, depends_on (see ``Stage``).

    Example:
        >>> stages = [dict(name='caption', type='TargetCaptionStage',
        ...                dataset=dict(type='VeRi776', data_root='${data_root}',
        ...                             split='train'),
        ...                captioner=dict(type='VLMCaptioner', model_type='blip2',
        ...                               question='',
        ...                               pretrained_model_name_or_path='checkpoints/blip2'),
        ...                out_file='${work_dir}/target_captions.json')]
    """

    kind = 'caption'

    def __init__(self, dataset: dict, captioner: dict, out_file: str,
                 fraction: float = 0.01, seed: int = 0,
                 num_images: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dict(dataset)
        self.captioner = dict(captioner)
        self.out_file = str(out_file)
        self.fraction = float(fraction)
        self.seed = int(seed)
        self.num_images = num_images

    def inputs(self) -> List[str]:
        paths = [str(self.dataset.get('data_root'))]
        weights = self.captioner.get('pretrained_model_name_or_path')
        return paths + ([str(weights)] if weights else [])

    def outputs(self) -> List[str]:
        return [self.out_file]

    def run(self) -> dict:
        from mmengine.dist import barrier, is_main_process
        n = None
        if is_main_process():
            caps = caption_target(self.dataset, self.captioner, self.out_file,
                                  self.fraction, self.seed, self.num_images)
            n = len(caps)
        barrier()
        return dict(images=n, out_file=self.out_file)
