"""CALModel: CAL's clothes classifier and training step, checked against
the authors' procedure written out with plain torch (the steps the former
``ReIDModel.cal_train_step`` documented)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict, build_optim_wrapper

from reidkit.models import ReIDModel
from reidkit.models.losses import ClothesAdversarialLoss
from reidkit.registry import MODELS

from reid_batches import make_batch

TINY = dict(type='TimmBackbone', model_name='resnet18', last_stride=1)
HEAD = dict(type='BNNeckHead', in_channels=1024, num_classes=4,
            bnneck_bias_frozen=False,
            classifier=dict(type='LinearClassifier', bias=True),
            losses=[dict(type='CrossEntropyLoss', label_smoothing=0.1)])


def cal_model(**clothes):
    return MODELS.build(dict(
        type='CALModel', backbone=TINY,
        neck=dict(type='MaxAvgPool', in_channels=512), head=HEAD,
        clothes_classifier=dict(type='ClothesClassifierHead',
                                in_channels=1024, num_clothes=8, **clothes)))


def _cal_wrappers(model, lr=0.1):
    cfg = dict(constructor='ReIDOptimWrapperConstructor',
               model=dict(type='OptimWrapper',
                          optimizer=dict(type='SGD', lr=lr)),
               clothes_classifier=dict(type='OptimWrapper',
                                       optimizer=dict(type='SGD', lr=lr)))
    return build_optim_wrapper(model, cfg)


def _by_hand(ref, batch):
    """Features, logits, labels and the positive-clothes mask of ``batch``
    computed with ``ref``'s modules one by one."""
    data = ref.data_preprocessor(batch, True)
    pid, clothes = data['labels']['pid'], data['labels']['clothes_id']
    pooled = ref.neck(ref.backbone(data['inputs'])[-1])
    f = ref.head.bnneck(pooled)  # post-BN: CAL's clothes feature
    logits = ref.head.classifier(f)
    pos = torch.zeros(len(pid), 8)
    for i in range(len(pid)):
        for j in range(len(pid)):
            if pid[j] == pid[i]:
                pos[i, clothes[j]] = 1
    return f, logits, pid, clothes, pos


def _assert_same_state(model, ref):
    theirs = ref.state_dict()
    for n, p in model.state_dict().items():  # parameters and BN statistics
        if not n.endswith('pid2clothes'):
            torch.testing.assert_close(p, theirs[n], rtol=1e-4, atol=1e-5,
                                       msg=n)


# ------------------------------------------------------------- structure
def test_cal_model_builds_clothes_head_and_names_it_for_ddp():
    model = cal_model()
    assert isinstance(model, ReIDModel)
    assert tuple(model.clothes_classifier.pid2clothes.shape) == (4, 8)
    assert model.ddp_ignored_parameters() == [
        'clothes_classifier.classifier.weight']
    assert model.loss_weights() == {'loss_ce': 1.0, 'loss_cal': 1.0}
    # the generic model has no clothes classifier to take
    with pytest.raises(TypeError, match='clothes_classifier'):
        ReIDModel(backbone=TINY, head=HEAD, clothes_classifier=dict())


def test_identity_mode_and_test_feature():
    """``'identity'``: head losses only plus the post-BN feature; the test
    feature is the generic model's."""
    model = cal_model().train()
    model.set_epoch(30)
    data = model.data_preprocessor(make_batch(), True)
    losses, cfeat = model(**data, mode='identity')
    assert set(losses) == {'loss_ce', 'acc_id'}
    assert cfeat.shape == (8, 1024) and cfeat.requires_grad
    plain = ReIDModel(backbone=TINY, neck=dict(type='MaxAvgPool',
                                               in_channels=512), head=HEAD)
    plain.load_state_dict(model.state_dict(), strict=False)
    model.eval()
    plain.eval()
    torch.testing.assert_close(model(data['inputs']), plain(data['inputs']))
    with pytest.raises(ValueError, match='mode'):
        model(data['inputs'], mode='cal')


def test_cal_optimiser_split():
    model = cal_model()
    wrappers = _cal_wrappers(model)
    assert isinstance(wrappers, OptimWrapperDict)
    cc = {id(p) for g in wrappers['clothes_classifier'].param_groups
          for p in g['params']}
    main = {id(p) for g in wrappers['model'].param_groups
            for p in g['params']}
    assert cc == {id(p) for p in model.clothes_classifier.parameters()}
    assert not cc & main
    assert main | cc == {id(p) for p in model.parameters()}


# ------------------------------------------------------------ train step
def test_cal_train_step_matches_manual_two_step_procedure():
    """Two optimisers: the clothes classifier steps first on detached
    features, then the model on CE + CAL with the *updated* classifier."""
    torch.manual_seed(0)
    model = cal_model().train()
    ref = copy.deepcopy(model)
    model.current_epoch = 25  # as EpochToModelHook sets it
    batch = make_batch()
    logs = model.train_step(batch, _cal_wrappers(model))
    assert {'loss_ce', 'loss_cal', 'loss_clothes', 'acc_clothes'} <= set(logs)

    # the authors' loop, written out with plain torch optimisers
    cc_params = list(ref.clothes_classifier.parameters())
    main_params = [p for n, p in ref.named_parameters()
                   if not n.startswith('clothes_classifier')]
    opt_cc = torch.optim.SGD(cc_params, lr=0.1)
    opt = torch.optim.SGD(main_params, lr=0.1)
    f, logits, pid, clothes, pos = _by_hand(ref, batch)
    W = ref.clothes_classifier.classifier.weight
    loss_c = F.cross_entropy(
        16 * F.normalize(f.detach()) @ F.normalize(W).t(), clothes)
    opt_cc.zero_grad()
    loss_c.backward()
    opt_cc.step()
    new_cos = F.normalize(f) @ F.normalize(W.detach()).t()  # updated W
    loss = F.cross_entropy(logits, pid, label_smoothing=0.1) + \
        ClothesAdversarialLoss()(new_cos, clothes, pos_mask=pos)
    opt.zero_grad()
    loss.backward()
    opt.step()
    torch.testing.assert_close(logs['loss_clothes'], loss_c.detach())
    torch.testing.assert_close(logs['loss'], loss.detach())
    _assert_same_state(model, ref)
    assert int(model.head.bnneck.num_batches_tracked) == 1


def test_cal_single_optimiser_step_matches_manual_sum():
    """One optimiser: CE + clothes CE + CAL summed, one SGD step; the
    adversarial loss sees the classifier before its update."""
    torch.manual_seed(0)
    model = cal_model().train()
    ref = copy.deepcopy(model)
    model.set_epoch(25)
    batch = make_batch()
    logs = model.train_step(batch, OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1)))
    assert {'loss_ce', 'loss_cal', 'loss_clothes', 'acc_clothes'} <= set(logs)

    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    f, logits, pid, clothes, pos = _by_hand(ref, batch)
    W = ref.clothes_classifier.classifier.weight
    loss = (F.cross_entropy(logits, pid, label_smoothing=0.1)
            + F.cross_entropy(16 * F.normalize(f.detach())
                              @ F.normalize(W).t(), clothes)
            + ClothesAdversarialLoss()(
                F.normalize(f) @ F.normalize(W.detach()).t(), clothes,
                pos_mask=pos))
    opt.zero_grad()
    loss.backward()
    opt.step()
    torch.testing.assert_close(logs['loss'], loss.detach())
    _assert_same_state(model, ref)


def test_cal_waits_for_start_epoch_from_message_hub():
    model = cal_model().train()
    hub = MessageHub.get_current_instance()
    hub.update_info('epoch', 3)
    assert model.current_epoch == 3
    w0 = model.clothes_classifier.classifier.weight.clone()
    logs = model.train_step(make_batch(), _cal_wrappers(model))
    assert 'loss_cal' not in logs
    assert torch.equal(model.clothes_classifier.classifier.weight, w0)
    hub.update_info('epoch', 25)
    logs = model.train_step(make_batch(), _cal_wrappers(model))
    assert 'loss_cal' in logs
    assert not torch.equal(model.clothes_classifier.classifier.weight, w0)
    hub.update_info('epoch', 0)


def test_cal_start_epochs_in_loss_mode_and_wrong_wrappers():
    model = cal_model(start_epoch=2,
                      adv_loss=dict(type='ClothesAdversarialLoss',
                                    start_epoch=4)).train()
    data = model.data_preprocessor(make_batch(), True)
    for epoch, expected in [(0, {'loss_ce', 'acc_id', 'acc_clothes'}),
                            (2, {'loss_ce', 'acc_id', 'acc_clothes',
                                 'loss_clothes'}),
                            (4, {'loss_ce', 'acc_id', 'acc_clothes',
                                 'loss_clothes', 'loss_cal'})]:
        model.set_epoch(epoch)
        assert set(model(**data, mode='loss')) == expected, epoch
    bad = OptimWrapperDict(model=OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1)))
    with pytest.raises(KeyError, match='clothes_classifier'):
        model.train_step(make_batch(), bad)

