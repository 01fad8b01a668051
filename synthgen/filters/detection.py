"""Detection crop: keep one prominent, confident, large enough object and crop to it.

Vehicle-Diff (Sec. III-C) runs an off-the-shelf detector on every generated
image, keeps only the car and truck classes, at most one box per image (the
most prominent vehicle), drops the image when that box's confidence is below
0.65 or its height or width is <= 250 px (at 1024 x 1024), and crops the image
to the box. The same rule is useful for any "one object per image" generator,
so it lives here with three backends:

* ``'torchvision'``: any ``torchvision.models.detection`` model (no compiled
  ops), built by name and loaded from a local checkpoint, or a built model;
* ``'mmdet'``: mmdet's ``DetInferencer`` with any config + checkpoint (needs
  the full mmcv: ``make detection``);
* ``'mask'``: boxes read from the label mask a generator returns with its
  image (:class:`MaskBoxDetector`; renderers such as the toy world, or
  layout-conditioned generators, know where they drew the object);
* a callable ``image (HxWx3 uint8 RGB) -> Detections`` (tests, other
  libraries).
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from synthgen.registry import FILTERS
from synthgen.sources import to_rgb_array
from .basic import FilterResult

__all__ = ['Detections', 'DetectionCropFilter', 'TorchvisionDetector',
           'MMDetDetector', 'MaskBoxDetector', 'select_box', 'COCO_VEHICLES']

#: Vehicle-Diff's classes (COCO names).
COCO_VEHICLES = ('car', 'truck')


@dataclass
class Detections:
    """Boxes of one image.

    Args:
        boxes (np.ndarray): ``(N, 4)`` ``x1, y1, x2, y2`` in pixels.
        scores (np.ndarray): ``(N,)`` confidences.
        labels (list[str]): ``N`` class names.
    """
    boxes: np.ndarray
    scores: np.ndarray
    labels: List[str]

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, np.float64).reshape(-1, 4)
        self.scores = np.asarray(self.scores, np.float64).reshape(-1)
        self.labels = [str(x) for x in self.labels]
        if not len(self.boxes) == len(self.scores) == len(self.labels):
            raise ValueError(f'Detections: {len(self.boxes)} boxes, '
                             f'{len(self.scores)} scores, {len(self.labels)} '
                             'labels; expected one of each per detection')


def select_box(dets: Detections, image_hw: Sequence[int],
               classes: Optional[Sequence[str]] = COCO_VEHICLES,
               score_thr: float = 0.65, min_side: float = 250,
               reference_size: int = 1024, select: str = 'score'):
    """Vehicle-Diff's rule: ``(box or None, reason)``.

    1. keep detections of ``classes`` (all when None);
    2. take ONE: the highest score (``select='score'``: YOLOv5 with
       ``max_det=1``, what the paper's detector does) or the largest box
       (``select='area'``) among those with score >= ``score_thr``;
    3. drop the image when the box's height <= ``min_side * H / reference``
       or its width <= ``min_side * W / reference`` (250 px at 1024 px).

    Args:
        dets (Detections): The detector's output.
        image_hw (Sequence[int]): ``(H, W)`` of the image.
        classes (Sequence[str], optional): Class names to consider.
        score_thr (float): Minimum confidence.
        min_side (float): Side length (at ``reference_size``) a box must
            exceed.
        reference_size (int): Image size ``min_side`` refers to.
        select (str): ``'score'`` or ``'area'``.

    Returns:
        tuple: ``(np.ndarray x1, y1, x2, y2 or None, reason)``.
    """
    if select not in ('score', 'area'):
        raise ValueError(f"select must be 'score' or 'area', got {select!r}")
    h, w = int(image_hw[0]), int(image_hw[1])
    wanted = np.array([classes is None or lab in classes
                       for lab in dets.labels], bool)
    if not wanted.any():
        return None, 'no ' + ('object' if classes is None else
                              '/'.join(classes))
    ok = wanted & (dets.scores >= score_thr)
    if not ok.any():
        return None, f'confidence < {score_thr:g}'
    idx = np.nonzero(ok)[0]
    boxes = dets.boxes[idx]
    if select == 'score':
        best = idx[int(np.argmax(dets.scores[idx]))]
    else:
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        best = idx[int(np.argmax(area))]
    box = dets.boxes[best].copy()
    box[[0, 2]] = np.clip(box[[0, 2]], 0, w)
    box[[1, 3]] = np.clip(box[[1, 3]], 0, h)
    bw, bh = box[2] - box[0], box[3] - box[1]
    if bh <= min_side * h / reference_size or \
            bw <= min_side * w / reference_size:
        return None, f'box <= {min_side:g} px (at {reference_size})'
    return box, ''


# ---------------------------------------------------------------- backends
def _coco_categories() -> List[str]:
    from torchvision.models import _meta
    return list(_meta._COCO_CATEGORIES)


class TorchvisionDetector:
    """A ``torchvision.models.detection`` model as ``image -> Detections``.

    Args:
        model (str | nn.Module): A model name of
            ``torchvision.models.list_models(module=torchvision.models.detection)``
            (e.g. ``'fasterrcnn_resnet50_fpn_v2'``) or a built model.
        weights (str, optional): Local checkpoint (a state dict, e.g.
            torchvision's ``fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth``);
            required with a model name.
        class_names (Sequence[str], optional): Name of each label index
            (default: torchvision's 91 COCO categories).
        device (str, optional): Default ``'cuda'`` when available.
        model_kwargs (dict, optional): Extra constructor arguments (e.g.
            ``box_score_thresh``, ``min_size``).

    Example:
        >>> det = TorchvisionDetector('fasterrcnn_resnet50_fpn_v2',
        ...     weights='weights/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth')
        >>> det(image).labels[:2]
        ['car', 'person']
    """

    def __init__(self, model: Union[str, torch.nn.Module],
                 weights: Optional[str] = None,
                 class_names: Optional[Sequence[str]] = None,
                 device: Optional[str] = None,
                 model_kwargs: Optional[dict] = None):
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.class_names = list(class_names or _coco_categories())
        if isinstance(model, str):
            import torchvision
            names = torchvision.models.list_models(
                module=torchvision.models.detection)
            if model not in names:
                raise KeyError(f'TorchvisionDetector: unknown model {model!r}; '
                               f'torchvision detection models: {names}')
            if weights is None or not osp.isfile(str(weights)):
                raise FileNotFoundError(
                    f'TorchvisionDetector: weights={weights!r} is not a local '
                    f'file; download the {model} COCO checkpoint (see '
                    'torchvision.models.get_model_weights) and set weights '
                    'to it')
            net = torchvision.models.get_model(
                model, weights=None, weights_backbone=None,
                num_classes=len(self.class_names), **(model_kwargs or {}))
            state = torch.load(weights, map_location='cpu', weights_only=True)
            if isinstance(state, dict) and 'state_dict' in state:
                state = state['state_dict']
            net.load_state_dict(state)
            model = net
        self.model = model.to(self.device).eval()

    @torch.no_grad()
    def __call__(self, image) -> Detections:
        img = to_rgb_array(image)
        x = torch.from_numpy(img).permute(2, 0, 1).float().div(255)
        out = self.model([x.to(self.device)])[0]
        labels = out['labels'].cpu().tolist()
        return Detections(out['boxes'].cpu().numpy(),
                          out['scores'].cpu().numpy(),
                          [self.class_names[i] if i < len(self.class_names)
                           else str(i) for i in labels])


class MMDetDetector:
    """mmdet's ``DetInferencer`` (any config + checkpoint) as ``image -> Detections``.

    Needs mmdet 3.x with the full mmcv (``make detection`` builds it).

    Args:
        config (str | dict): An mmdet config file or dict (or a model name
            mmdet's model index knows, e.g. ``'rtmdet_x_8xb32-300e_coco'``).
        checkpoint (str): Local weights file.
        device (str, optional): Default ``'cuda'`` when available.
        class_names (Sequence[str], optional): Overrides the checkpoint's
            ``dataset_meta['classes']``.

    Example:
        >>> det = MMDetDetector('configs/rtmdet/rtmdet_x_8xb32-300e_coco.py',
        ...                     'weights/rtmdet_x_8xb32-300e_coco.pth')
    """

    def __init__(self, config, checkpoint: Optional[str] = None,
                 device: Optional[str] = None,
                 class_names: Optional[Sequence[str]] = None):
        try:
            from synthgen.utils.compat import keep_mmpretrain_multimodal_off
            keep_mmpretrain_multimodal_off()   # mmdet imports mmpretrain
            from mmdet.apis import DetInferencer
        except ImportError as err:
            raise ImportError(
                'MMDetDetector needs mmdet 3.x and the full mmcv (< 2.2): run '
                '`make detection` (builds mmcv 2.1.0 once and installs '
                f'mmdet 3.3.0), or use backend="torchvision" ({err})') from err
        if checkpoint is not None and not osp.isfile(str(checkpoint)):
            raise FileNotFoundError(f'MMDetDetector: checkpoint {checkpoint!r} '
                                    'not found')
        if isinstance(config, str) and config.endswith('.py') and \
                not osp.isfile(config):
            raise FileNotFoundError(f'MMDetDetector: config {config!r} not '
                                    'found')
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        # DetInferencer makes 'mmdet' the default scope; keep the caller's
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmdet'):
            self.inferencer = DetInferencer(model=config, weights=checkpoint,
                                            device=self.device,
                                            show_progress=False)
        meta = getattr(self.inferencer.model, 'dataset_meta', None) or {}
        self.class_names = list(class_names or meta.get('classes') or [])
        if not self.class_names:
            raise ValueError('MMDetDetector: the model has no dataset_meta '
                             '"classes"; pass class_names')

    def __call__(self, image) -> Detections:
        bgr = np.ascontiguousarray(to_rgb_array(image)[..., ::-1])
        pred = self.inferencer(bgr, return_datasamples=True,
                               no_save_vis=True)['predictions'][0]
        inst = pred.pred_instances
        labels = inst.labels.cpu().tolist()
        return Detections(inst.bboxes.cpu().numpy(), inst.scores.cpu().numpy(),
                          [self.class_names[i] for i in labels])


class MaskBoxDetector:
    """Boxes from a generator's label mask: ``mask (HxW int) -> Detections``.

    For each class, the box around every pixel whose label is one of the
    class's labels, with confidence 1 (the renderer drew it there). Pixels
    cut off by the frame are not in the mask, so an object that is partly
    outside the image gets a box clipped to what is visible.

    Args:
        labels (dict): ``{class name: [mask label values]}``.
        min_pixels (int): Fewer pixels of a class give no box.

    Example:
        >>> det = MaskBoxDetector({'car': [10, 11, 12, 13]})
        >>> mask = np.zeros((8, 8), np.uint8); mask[2:5, 1:7] = 10
        >>> det(mask).boxes.tolist()
        [[1.0, 2.0, 7.0, 5.0]]
    """

    def __init__(self, labels: Dict[str, Sequence[int]], min_pixels: int = 1):
        if not isinstance(labels, dict) or not labels:
            raise ValueError('MaskBoxDetector: labels must map class names to '
                             'mask label values, e.g. {"car": [10, 11]}')
        self.labels = {str(k): [int(v) for v in
                                (vals if isinstance(vals, (list, tuple))
                                 else [vals])]
                       for k, vals in labels.items()}
        self.min_pixels = int(min_pixels)

    def __call__(self, mask) -> Detections:
        if mask is None:
            raise ValueError("DetectionCropFilter(backend='mask'): the "
                             'generator returned no mask with this image')
        mask = np.asarray(mask)
        boxes, names = [], []
        for name, values in self.labels.items():
            ys, xs = np.nonzero(np.isin(mask, values))
            if len(ys) >= self.min_pixels and len(ys):
                boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
                names.append(name)
        return Detections(np.asarray(boxes, np.float64).reshape(-1, 4),
                          np.ones(len(boxes)), names)


# ---------------------------------------------------------------- filter
@FILTERS.register_module()
class DetectionCropFilter:
    """Keep an image when it shows one confident, large object; crop to it.

    See :func:`select_box` for the rule (Vehicle-Diff's defaults: COCO
    ``car`` / ``truck``, confidence >= 0.65, height and width > 250 px at
    1024 px, one box: the highest score).

    Args:
        backend (str): ``'torchvision'``, ``'mmdet'``, ``'mask'`` or
            ``'callable'``.
        model: torchvision: a model name or built model; mmdet: a config
            file / dict / model name; mask: ``{class: [mask labels]}`` (see
            :class:`MaskBoxDetector`; reads ``item['mask']``); callable:
            ``image -> Detections`` (or ``(boxes, scores, labels)``).
        weights (str, optional): Local checkpoint (torchvision, mmdet).
        classes (Sequence[str], optional): Class names kept.
        score_thr (float): Minimum confidence (0.65).
        min_side (float): Boxes with height or width <= this (at
            ``reference_size``) drop the image (250).
        reference_size (int): Image size ``min_side`` refers to (1024).
        select (str): ``'score'`` (default) or ``'area'``.
        crop (bool): Replace the image by the box crop (default True).
        class_names (Sequence[str], optional): Label index -> name.
        device (str, optional): Inference device.
        model_kwargs (dict, optional): torchvision constructor arguments.
        name (str, optional): Name in the summary table.

    Example:
        >>> flt = DetectionCropFilter(
        ...     backend='torchvision', model='fasterrcnn_resnet50_fpn_v2',
        ...     weights='weights/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth')
        >>> res = flt(dict(image=img))
        >>> res.keep, res.image.shape     # the crop, when kept
        (True, (612, 830, 3))
    """

    def __init__(self, backend: str = 'torchvision', model: Any = None,
                 weights: Optional[str] = None,
                 classes: Optional[Sequence[str]] = COCO_VEHICLES,
                 score_thr: float = 0.65, min_side: float = 250,
                 reference_size: int = 1024, select: str = 'score',
                 crop: bool = True,
                 class_names: Optional[Sequence[str]] = None,
                 device: Optional[str] = None,
                 model_kwargs: Optional[dict] = None,
                 name: Optional[str] = None):
        if backend not in ('torchvision', 'mmdet', 'mask', 'callable'):
            raise ValueError("DetectionCropFilter: backend must be "
                             f"'torchvision', 'mmdet', 'mask' or 'callable', "
                             f'got {backend!r}')
        if model is None:
            raise ValueError('DetectionCropFilter: set model (torchvision: a '
                             'model name such as "fasterrcnn_resnet50_fpn_v2"; '
                             'mmdet: a config file; callable: a function)')
        if select not in ('score', 'area'):
            raise ValueError(f"select must be 'score' or 'area', got {select!r}")
        if backend == 'torchvision':
            self.detector: Callable = TorchvisionDetector(
                model, weights, class_names, device, model_kwargs)
        elif backend == 'mmdet':
            self.detector = MMDetDetector(model, weights, device, class_names)
        elif backend == 'mask':
            self.detector = MaskBoxDetector(dict(model))
        else:
            if not callable(model):
                raise TypeError('DetectionCropFilter(backend="callable"): '
                                'model must be callable')
            self.detector = model
        self.backend = backend
        self.classes = None if classes is None else tuple(classes)
        self.score_thr = float(score_thr)
        self.min_side = float(min_side)
        self.reference_size = int(reference_size)
        self.select = select
        self.crop = crop
        if name is not None:
            self.name = name

    def detect(self, image) -> Detections:
        """The backend's detections on ``image``."""
        dets = self.detector(image)
        if not isinstance(dets, Detections):
            dets = Detections(*dets)
        return dets

    def __call__(self, item: Dict[str, Any]) -> FilterResult:
        img = to_rgb_array(item['image'])
        if self.backend == 'mask':
            dets = self.detect(item.get('mask'))
        else:
            dets = self.detect(img)
        box, reason = select_box(dets, img.shape[:2],
                                 self.classes, self.score_thr, self.min_side,
                                 self.reference_size, self.select)
        if box is None:
            return FilterResult(False, reason)
        if not self.crop:
            return FilterResult(True, '')
        x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
        x2, y2 = int(np.ceil(box[2])), int(np.ceil(box[3]))
        return FilterResult(True, '', np.ascontiguousarray(img[y1:y2, x1:x2]))
