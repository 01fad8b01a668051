"""DiVE's own stage: the fine-tuning vocabulary (the other steps are the
built-in FinetuneStage, GenerateStage, TrainStage and TestStage)."""
from __future__ import annotations

from typing import Any, List, Optional

from reidkit.stages import STAGES, Stage
from reidkit.stages.base import path_strings, plain

from .pipeline import run_vocabulary, vocabulary_files


@STAGES.register_module()
class DiVEVocabularyStage(Stage):
    """Write identity tokens, code words and captions (``run_vocabulary``).

    Outputs in ``out_dir``: ``captions.json`` and ``tokens.json`` (read by
    the fine-tuning), ``codes.json`` (code words, read by the generation's
    prompt builder), ``identities.json`` and ``gen_identities.json`` (the
    external identities the generation renders).

    Args:
        vi_dataset (dict): the VI train set config (SYSU-MM01 / LLCM).
        external (dict, optional): a :class:`DiVEExternalDataset` config.
        out_dir (str): the folder of the files.
        granularity (str): ``'camera'`` (default, the authors' code) or
            ``'modality'`` (single view).
        code_length (int): 4 (code) or 8 (paper).
        lora (str): ``'shared'`` (code) or ``'modality'`` (paper).
        seed (int): code-word seed.
        **kwargs: name, cfg, work_dir, depends_on (see :class:`Stage`).

    Example:
        >>> stages = [dict(name='tokens', type='DiVEVocabularyStage',
        ...                vi_dataset=dict(type='SYSUMM01',
        ...                                data_root='data/sysu_mm01'),
        ...                external=dict(type='DiVEExternalDataset',
        ...                              data_root='data/market1501'),
        ...                out_dir='work_dirs/dive_data/vocabulary')]
    """

    def __init__(self, vi_dataset: dict, out_dir: str,
                 external: Optional[dict] = None,
                 granularity: str = 'camera', code_length: int = 4,
                 lora: str = 'shared', seed: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vi_dataset = plain(vi_dataset)
        self.external = plain(external) if external else None
        self.out_dir = str(out_dir)
        self.options = dict(granularity=granularity, code_length=code_length,
                            lora=lora, seed=seed)

    def inputs(self) -> List[str]:
        return path_strings(self.vi_dataset) + path_strings(self.external)

    def outputs(self) -> List[str]:
        return list(vocabulary_files(self.out_dir).values())

    def fingerprint(self) -> Any:
        return dict(vi_dataset=self.vi_dataset, external=self.external,
                    **self.options)

    def run(self) -> dict:
        from mmengine.dist import barrier, is_main_process
        if is_main_process():
            run_vocabulary(self.vi_dataset, self.external, self.out_dir,
                           overwrite=True, **self.options)
        barrier()
        return dict(out_dir=self.out_dir)
