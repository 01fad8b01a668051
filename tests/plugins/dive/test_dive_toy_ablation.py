"""The pieces of ``python -m plugins.dive.toy_ablation``: the table (mean and
sample std), the metric keys, the generated IR sets and the training set of
each Table 3 setting (seconds; the ablation itself is minutes)."""
import os.path as osp

import numpy as np

from plugins.dive import toy_ablation as ta
from reidkit.registry import DATASETS


def test_table_is_mean_and_sample_std():
    rows = {'baseline': [(10.0, 20.0), (20.0, 30.0), (30.0, 45.0)]}
    table = ta.format_table(rows, [0, 1, 2])
    # R1 10, 20, 30: mean 20, sample std 10 (population std would be 8.2)
    assert ' 20.0 +- 10.0' in table
    want = np.std([20.0, 30.0, 45.0], ddof=1)  # 12.58
    assert f'{31.7:5.1f} +- {want:4.1f}' in table
    assert ta.mean_std([7.0]) == '  7.0 +-  0.0'


def test_score_reads_fractions_or_percent():
    assert ta._score({'sysu_all/R1': 0.5, 'sysu_all/mAP': 0.25,
                      'sysu_all/R5': 0.9}) == (50.0, 25.0)
    assert ta._score({'R1': 50.0, 'mAP': 25.0}) == (50.0, 25.0)


def test_each_setting_trains_on_its_generated_set(toy_sysu, toy_market,
                                                  tmp_path):
    ir = {view: ta.generate(toy_sysu, toy_market, str(tmp_path), view,
                            perturb=0.0, per_camera=1, min_images=1)
          for view in ('single', 'camera')}
    rgb_only = DATASETS.build(ta.external_cfg(toy_market, 1))
    n_ext = rgb_only.metainfo['num_pids']
    assert n_ext > 2

    def build(**kw):
        ds = DATASETS.build(ta.external_cfg(toy_market, 1, **kw))
        return [ds[i] for i in range(len(ds))]

    ir_only = build(synthetic_root=ir['single'], include_rgb=False)
    # IR only: one generated image per identity per IR camera, nothing else
    assert len(ir_only) == 2 * n_ext
    assert {s['modality'] for s in ir_only} == {1}
    assert sorted({s['camid'] for s in ir_only}) == list(ta.IR_CAMS)
    both = build(synthetic_root=ir['camera'], include_rgb=True)
    assert len(both) == len(rgb_only) + 2 * n_ext
    # every identity has its RGB and its generated IR images
    by_id = {}
    for s in both:
        by_id.setdefault(s['orig_pid'], set()).add(s['modality'])
    assert len(by_id) == n_ext and all(m == {0, 1} for m in by_id.values())
    # the sweep's first n identities
    assert len(build(synthetic_root=ir['camera'], max_ids=2)) == len(
        [s for s in both if s['orig_pid'] in sorted(
            {t['orig_pid'] for t in both})[:2]])


def test_chance_level_is_one_over_the_gallery_identities(toy_sysu):
    # a random ranking of distinct identities puts the right one first with
    # probability 1 / (identities in the trial's gallery)
    gallery = DATASETS.build(dict(type='SYSUMM01', data_root=toy_sysu,
                                  split='gallery'))
    n_ids = len({gallery.get_data_info(i)['pid']
                 for i in range(len(gallery))})
    r1, mean_ap = ta.chance_level(toy_sysu, draws=100)
    assert abs(r1 - 100.0 / n_ids) < 4.0, (r1, n_ids)
    assert 0.0 < mean_ap <= 100.0


def test_toy_config_is_small_convnet_at_32x16():
    # the toy baseline the table trains: SmallConvNet (LCNet-0.5 at 64x32
    # scored at chance on the 200-identity toy), 32x16 inputs, 128-d
    # features, bag-of-tricks losses; one step on a 32x16 batch moves it
    import torch

    from reidkit.apis import load_config
    from reidkit.models.backbones import SmallConvNet
    from reidkit.registry import MODELS
    cfg = load_config(osp.join(ta.ROOT, ta.CONFIG))
    assert tuple(cfg.img_size) == (32, 16)
    sizes = [t['size'] for t in cfg.test_dataloader.dataset.pipeline
             if t['type'] == 'ReIDResize']
    assert [tuple(s) for s in sizes] == [(32, 16)]
    model_cfg = cfg.model.to_dict()
    model_cfg['head']['num_classes'] = 4
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    assert isinstance(model.backbone, SmallConvNet)
    x = torch.randn(8, 3, 32, 16, generator=torch.Generator().manual_seed(0))
    labels = dict(pid=torch.arange(4).repeat_interleave(2))
    model.eval()
    assert model(x, mode='tensor').shape == (8, 128)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(20):  # a fixed batch: the losses fall (it learns)
        loss = sum(model(x, mode='loss', labels=labels).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-3:]) < 0.7 * sum(losses[:3]), losses
