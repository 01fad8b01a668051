"""DetectionCropFilter: Vehicle-Diff's box rule with values, torchvision and mmdet backends."""
import importlib.util

import numpy as np
import pytest
import torch

from synthgen.filters.detection import (DetectionCropFilter, Detections,
                                        TorchvisionDetector, select_box)
from synthgen.registry import FILTERS


def fixed(boxes, scores, labels):
    return lambda image: Detections(boxes, scores, labels)


def test_select_box_keeps_the_most_confident_vehicle():
    dets = Detections([[0, 0, 900, 900], [100, 100, 500, 700],
                       [10, 10, 1000, 1000]],
                      [0.99, 0.90, 0.80], ['person', 'car', 'truck'])
    box, reason = select_box(dets, (1024, 1024))
    assert reason == '' and box.tolist() == [100, 100, 500, 700]
    # largest instead of most confident
    box, _ = select_box(dets, (1024, 1024), select='area')
    assert box.tolist() == [10, 10, 1000, 1000]


@pytest.mark.parametrize('box,score,label,reason', [
    ([0, 0, 600, 600], 0.64, 'car', 'confidence < 0.65'),
    ([0, 0, 600, 250], 0.90, 'car', 'box <= 250 px (at 1024)'),   # height 250
    ([0, 0, 251, 600], 0.90, 'truck', ''),                        # width 251
    ([0, 0, 250, 600], 0.90, 'truck', 'box <= 250 px (at 1024)'),
    ([0, 0, 600, 600], 0.99, 'bus', 'no car/truck'),
])
def test_select_box_thresholds_at_1024(box, score, label, reason):
    got, why = select_box(Detections([box], [score], [label]), (1024, 1024))
    assert why == reason
    assert (got is None) == bool(reason)


def test_side_threshold_scales_with_image_size():
    # 512 px image: the limit is 125 px; a 126 px box passes, 125 does not
    ok = Detections([[0, 0, 126, 126]], [0.9], ['car'])
    small = Detections([[0, 0, 125, 300]], [0.9], ['car'])
    assert select_box(ok, (512, 512))[0] is not None
    assert select_box(small, (512, 512))[0] is None
    # non-square: height limit 250 * 2048 / 1024 = 500, width limit 125
    tall = Detections([[0, 0, 126, 501]], [0.9], ['car'])
    short = Detections([[0, 0, 600, 500]], [0.9], ['car'])
    assert select_box(tall, (2048, 512))[0] is not None
    assert select_box(short, (2048, 512))[0] is None


def test_most_confident_box_too_small_drops_the_image():
    """One box per image (max_det=1): a small best box is not replaced."""
    dets = Detections([[0, 0, 100, 100], [0, 0, 800, 800]], [0.95, 0.7],
                      ['car', 'car'])
    assert select_box(dets, (1024, 1024))[1].startswith('box <=')


def test_filter_crops_to_the_box_and_clips():
    img = np.arange(64 * 48 * 3, dtype=np.uint8).reshape(64, 48, 3)
    flt = DetectionCropFilter(backend='callable', reference_size=64,
                              min_side=10,
                              model=fixed([[4.2, 8.0, 60, 40.5]], [0.9],
                                          ['car']))
    res = flt(dict(image=img))
    assert res.keep
    # x clipped to the 48-px width; floor/ceil of the fractional edges
    np.testing.assert_array_equal(res.image, img[8:41, 4:48])
    res = DetectionCropFilter(backend='callable', crop=False,
                              model=fixed([[0, 0, 48, 64]], [0.9], ['car']),
                              reference_size=64, min_side=10)(dict(image=img))
    assert res.keep and res.image is None


def test_filter_is_registered_and_accepts_tuples():
    flt = FILTERS.build(dict(type='DetectionCropFilter', backend='callable',
                             model=lambda im: ([[0, 0, 5, 5]], [0.99],
                                               ['car'])))
    res = flt(dict(image=np.zeros((1024, 1024, 3), np.uint8)))
    assert not res.keep and res.reason == 'box <= 250 px (at 1024)'


def tiny_frcnn(favour_label):
    """torchvision FasterRCNN with a tiny random backbone whose classifier
    always says ``favour_label`` (a large bias) and never moves boxes."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.ops import MultiScaleRoIAlign
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 4, 1),
                                   torch.nn.ReLU())
    backbone.out_channels = 8
    model = FasterRCNN(backbone, num_classes=91, min_size=64, max_size=64,
                       rpn_anchor_generator=AnchorGenerator(
                           ((16, 32),), ((0.5, 1.0, 2.0),)),
                       box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2),
                       rpn_pre_nms_top_n_test=50, rpn_post_nms_top_n_test=20,
                       box_detections_per_img=5)
    pred = model.roi_heads.box_predictor
    with torch.no_grad():
        pred.cls_score.weight.zero_()
        pred.cls_score.bias.fill_(-10.0)
        pred.cls_score.bias[favour_label] = 10.0
        pred.bbox_pred.weight.zero_()
        pred.bbox_pred.bias.zero_()
    return model.eval()


def test_torchvision_backend_maps_coco_labels():
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    det = TorchvisionDetector(tiny_frcnn(favour_label=3), device='cpu')
    dets = det(img)
    assert len(dets.labels) > 0 and set(dets.labels) == {'car'}
    assert dets.scores.min() > 0.99
    flt = DetectionCropFilter(backend='torchvision', device='cpu',
                              model=tiny_frcnn(favour_label=8),   # truck
                              min_side=0)
    res = flt(dict(image=img))
    best = flt.detect(img)
    box = best.boxes[int(np.argmax(best.scores))]
    assert res.keep and best.labels[0] == 'truck'
    x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
    x2, y2 = int(np.ceil(box[2])), int(np.ceil(box[3]))
    np.testing.assert_array_equal(res.image, img[y1:y2, x1:x2])
    person = DetectionCropFilter(backend='torchvision', device='cpu',
                                 model=tiny_frcnn(favour_label=1))
    assert person(dict(image=img)).reason == 'no car/truck'


def test_torchvision_backend_by_name_loads_the_checkpoint(tmp_path):
    import torchvision
    torch.manual_seed(0)
    kw = dict(weights=None, weights_backbone=None, num_classes=91)
    ref = torchvision.models.get_model(
        'fasterrcnn_mobilenet_v3_large_320_fpn', **kw).eval()
    path = tmp_path / 'det.pth'
    torch.save(ref.state_dict(), path)
    det = TorchvisionDetector('fasterrcnn_mobilenet_v3_large_320_fpn',
                              weights=str(path), device='cpu')
    for a, b in zip(ref.state_dict().values(), det.model.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(FileNotFoundError, match='not a local file'):
        TorchvisionDetector('fasterrcnn_mobilenet_v3_large_320_fpn',
                            weights=str(tmp_path / 'missing.pth'))
    with pytest.raises(KeyError, match='unknown model'):
        TorchvisionDetector('yolo', weights=str(path))


HAS_MMDET = importlib.util.find_spec('mmdet') is not None
needs_mmdet = pytest.mark.skipif(
    not HAS_MMDET, reason='mmdet is not installed (`make detection` builds '
    'mmcv 2.1.0 from source and installs mmdet 3.3.0)')


def paper_rule_by_hand(pred, names, hw, score_thr=0.65, min_side=250,
                       reference=1024):
    """Vehicle-Diff's rule on DetInferencer's own prediction dict, written
    out: car/truck only, the most confident one at >= score_thr, both sides
    > min_side * size / reference, the box clipped to the image."""
    h, w = hw
    cands = [(s, b) for lab, s, b in zip(pred['labels'], pred['scores'],
                                         pred['bboxes'])
             if names[lab] in ('car', 'truck')]
    if not cands:
        return None, 'no car/truck'
    cands = [(s, b) for s, b in cands if s >= score_thr]
    if not cands:
        return None, f'confidence < {score_thr:g}'
    s, b = max(cands, key=lambda c: c[0])
    x1, x2 = min(max(b[0], 0), w), min(max(b[2], 0), w)
    y1, y2 = min(max(b[1], 0), h), min(max(b[3], 0), h)
    if y2 - y1 <= min_side * h / reference or \
            x2 - x1 <= min_side * w / reference:
        return None, f'box <= {min_side:g} px (at {reference})'
    return (x1, y1, x2, y2), ''


@needs_mmdet
def test_mmdet_backend_equals_detinferencer_under_the_paper_rule(tmp_path):
    """DetInferencer on mmdet's RTMDet-tiny (random weights, biased to say
    "car" with high and "person" with lower confidence): the box the filter
    keeps and the crop equal what a separate DetInferencer's own
    predictions give under the paper's rule, computed here by hand."""
    from synthgen.utils.compat import keep_mmpretrain_multimodal_off
    keep_mmpretrain_multimodal_off()
    from mmdet.apis import DetInferencer

    from synthgen.filters.detection import MMDetDetector
    from synthgen.testing import tiny_rtmdet_checkpoint
    path = str(tmp_path / 'rtmdet_tiny_random.pth')
    config = tiny_rtmdet_checkpoint(path, {2: 6.0, 0: 4.0},   # car, person
                                    box_bias=10.0)
    flt = DetectionCropFilter(backend='mmdet', model=config, weights=path,
                              device='cpu')   # the paper's defaults
    assert isinstance(flt.detector, MMDetDetector)
    names = flt.detector.class_names
    assert (names[0], names[2], names[7]) == ('person', 'car', 'truck')
    ref = DetInferencer(model=config, weights=path, device='cpu',
                        show_progress=False)
    rng = np.random.default_rng(0)
    outcomes = set()
    for hw in [(96, 128), (160, 120), (64, 64)]:
        img = rng.integers(0, 255, hw + (3,), np.uint8)
        pred = ref(np.ascontiguousarray(img[..., ::-1]),
                   no_save_vis=True)['predictions'][0]
        assert 'car' in {names[i] for i in pred['labels']}
        box, reason = paper_rule_by_hand(pred, names, hw)
        res = flt(dict(image=img))
        assert (res.keep, res.reason) == (box is not None, reason), hw
        outcomes.add(reason)
        if box is not None:
            x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
            x2, y2 = int(np.ceil(box[2])), int(np.ceil(box[3]))
            np.testing.assert_array_equal(res.image, img[y1:y2, x1:x2])
    assert '' in outcomes   # at least one image kept and cropped
    # a confidence threshold above every car score drops the image
    img = rng.integers(0, 255, (96, 128, 3), np.uint8)
    pred = ref(np.ascontiguousarray(img[..., ::-1]),
               no_save_vis=True)['predictions'][0]
    top = max(s for lab, s in zip(pred['labels'], pred['scores'])
              if names[lab] == 'car')
    strict = DetectionCropFilter(backend='callable', model=flt.detector,
                                 score_thr=min(top + 1e-3, 1.0))
    assert strict(dict(image=img)).reason.startswith('confidence <')
    with pytest.raises(FileNotFoundError, match='checkpoint'):
        MMDetDetector(config, checkpoint=str(tmp_path / 'missing.pth'))


def test_mmdet_backend_absent_names_make_detection():
    if HAS_MMDET:
        pytest.skip('mmdet is installed')
    with pytest.raises(ImportError, match='make detection'):
        DetectionCropFilter(backend='mmdet', model='rtmdet_tiny.py')


def test_mask_backend_reads_the_rendered_box():
    """backend='mask': the box of the labelled pixels; none -> dropped."""
    img = np.zeros((64, 64, 3), np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[10:40, 5:55] = 10
    mask[20:25, 30:35] = 12                     # another label of the same car
    flt = DetectionCropFilter(backend='mask', model=dict(car=[10, 12]),
                              reference_size=64, min_side=16)
    res = flt(dict(image=img, mask=mask))
    assert res.keep and res.image.shape == (30, 50, 3)
    # an empty road: no car
    res = flt(dict(image=img, mask=np.zeros_like(mask)))
    assert (res.keep, res.reason) == (False, 'no car/truck')
    # a vehicle cut off by the frame: 16 px visible, not more than 16
    cut = np.zeros_like(mask)
    cut[10:40, 48:64] = 10
    res = flt(dict(image=img, mask=cut))
    assert (res.keep, res.reason) == (False, 'box <= 16 px (at 64)')
    with pytest.raises(ValueError, match='no mask'):
        flt(dict(image=img, mask=None))
