"""Config loading: inheritance, --cfg-options, variable substitution, dataset counts."""
import os.path as osp
import textwrap

import pytest
from mmengine.config import Config

from reidkit.apis import fill_dataset_counts, load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_data_root_override_reaches_every_use(tmp_path):
    _write(tmp_path, 'base.py', '''
        data_root = 'data/prcc'
        train_dataloader = dict(dataset=dict(data_root=data_root))
        test_dataloader = dict(dataset=dict(data_root=data_root))
        generation = dict(source=dict(root=data_root + '/rgb/train'),
                          other='data/prcc_other')
    ''')
    cfg_path = _write(tmp_path, 'cfg.py', "_base_ = ['base.py']\n")
    cfg = load_config(cfg_path, {'data_root': '/mnt/PRCC'})
    assert cfg.train_dataloader.dataset.data_root == '/mnt/PRCC'
    assert cfg.test_dataloader.dataset.data_root == '/mnt/PRCC'
    assert cfg.generation.source.root == '/mnt/PRCC/rgb/train'
    assert cfg.generation.other == 'data/prcc_other'   # not a path under it
    # nested overrides still work as in mmengine
    cfg = load_config(cfg_path, {'train_dataloader.dataset.data_root': 'x'})
    assert cfg.train_dataloader.dataset.data_root == 'x'
    assert cfg.test_dataloader.dataset.data_root == 'data/prcc'


def test_data_root_override_reaches_dlcr_config():
    # the DLCR configs complete base-built dicts (`_base_.query_generation`)
    # in the child; an override must still reach every copy
    cfg = load_config(osp.join(ROOT, 'configs', 'dlcr', 'prcc_cal.py'),
                      {'data_root': '/mnt/PRCC', 'dlcr_root': '/w/prcc'})
    real, synthetic = cfg.train_dataloader.dataset.datasets
    test = cfg.test_dataloader.dataset
    assert real.data_root == '/mnt/PRCC'
    assert synthetic.data_root == '/w/prcc/train_k10'
    assert cfg.generation.pipeline.source.data_root == '/mnt/PRCC'
    assert cfg.generation.pipeline.source.mask_provider.cache_dir == \
        '/w/prcc/masks'
    assert test.dataset.data_root == '/mnt/PRCC'
    qgen = cfg.query_generation.pipeline
    assert qgen.source.data_root == '/mnt/PRCC'
    assert qgen.source.mask_provider.cache_dir == '/w/prcc/masks'
    assert qgen.writer.out_dir == '/w/prcc/query_l6'
    assert test.variant_dir == '/w/prcc/query_l6'
    assert cfg.val_dataloader.dataset.data_root == '/mnt/PRCC'


def test_late_references(tmp_path):
    from reidkit.utils.config import ConfigReferenceError, resolve_references
    from mmengine.config import Config
    cfg = Config(dict(
        root='data/x', size=(4, 2), extra=dict(mode='cc'),
        ds=dict(data_root='${root}/train', size='${size}',
                _merge_='${extra}', mode_kept='${extra.mode}'),
        own=dict(_merge_='${extra}', mode='all'),
        chain='${ds.data_root}'))
    resolve_references(cfg)
    assert cfg.ds.data_root == 'data/x/train' and cfg.ds.size == (4, 2)
    assert cfg.ds.mode == 'cc' and cfg.ds.mode_kept == 'cc'
    assert cfg.own.mode == 'all'           # the dict's own keys win
    assert cfg.chain == 'data/x/train'     # references may chain
    import pytest
    with pytest.raises(ConfigReferenceError, match="'a.b' refers to '.{nope}'"
                       ".*no key 'nope'"):
        resolve_references(Config(dict(a=dict(b='${nope}'), nop=1)))
    with pytest.raises(ConfigReferenceError, match='cycle: y -> x -> y'):
        resolve_references(Config(dict(x='${y}', y='${x}')))
    with pytest.raises(ConfigReferenceError, match='formats'):
        resolve_references(Config(dict(d=dict(k=1), s='a${d}')))


def test_custom_imports_from_cfg_options(tmp_path, monkeypatch):
    """--cfg-options custom_imports=... imports the module (as
    tools/generate.py always did)."""
    pkg = tmp_path / 'pkg_from_cli'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('LOADED = True\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg_path = _write(tmp_path, 'cfg.py', "model = dict(type='X')\n")
    import sys
    sys.modules.pop('pkg_from_cli', None)
    load_config(cfg_path, {'custom_imports.imports': ['pkg_from_cli']})
    assert 'pkg_from_cli' in sys.modules


def test_fill_dataset_counts_from_train_metainfo(tmp_path, monkeypatch):
    import reidkit.apis as apis
    monkeypatch.setattr(apis, '_dataset_metainfo',
                        lambda cfg: {'num_pids': 7, 'num_clothes': 11})
    cfg_path = _write(tmp_path, 'cfg.py', '''
        model = dict(head=dict(num_classes=None, fixed=3),
                     aux_heads=[dict(num_classes=None)],
                     clothes_head=dict(num_clothes=None))
        train_dataloader = dict(dataset=dict(type='X'))
    ''')
    cfg = load_config(cfg_path)
    fill_dataset_counts(cfg)
    assert cfg.model.head.num_classes == 7
    assert cfg.model.aux_heads[0].num_classes == 7
    assert cfg.model.clothes_head.num_clothes == 11
    assert cfg.model.head.fixed == 3


def test_metric_table_keeps_nested_groups_apart():
    from reidkit.utils.table import format_metrics
    text = format_metrics({'sc/mAP': 90.0, 'plain/sc/mAP': 80.0, 'R1': 5.0})
    rows = {line.split('|')[1].strip(): line.split('|')[2].strip()
            for line in text.splitlines() if line.startswith('|')}
    assert rows['sc'] == '90.00' and rows['plain/sc'] == '80.00'
    assert rows['all'] == '-'


def test_loaded_configs_skip_yapf_and_still_round_trip(tmp_path):
    import copy
    from unittest import mock

    from mmengine.config import Config

    from reidkit.utils.config import load_config, set_code_formatting
    cfg = load_config('configs/quickstart/toy_market_bot_r18.py',
                      work_dir=str(tmp_path))
    runner_copy = copy.deepcopy(cfg)          # what Runner.from_cfg keeps
    with mock.patch('mmengine.config.config.FormatCode',
                    side_effect=AssertionError('yapf called')):
        text = runner_copy.pretty_text
        runner_copy.dump(str(tmp_path / 'dumped.py'))
    assert Config.fromstring(text, '.py').to_dict() == cfg.to_dict()
    assert Config.fromfile(str(tmp_path / 'dumped.py')).to_dict() == \
        cfg.to_dict()
    # tools/print_config.py turns formatting back on
    with mock.patch('mmengine.config.config.FormatCode',
                    return_value=('formatted', None)) as fmt:
        assert set_code_formatting(cfg, True).pretty_text == 'formatted'
    assert fmt.called


def test_configs_with_the_same_file_name_get_their_own_work_dir():
    # mmengine's default work dir is work_dirs/<file stem>: configs/cal/prcc_cal.py
    # and configs/dlcr/prcc_cal.py would share one, so the second run would read
    # the first one's stage records and checkpoints as its own
    import collections
    import glob
    by_stem = collections.defaultdict(list)
    for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py')):
        by_stem[osp.basename(path)].append(path)
    shared = {stem: paths for stem, paths in by_stem.items() if len(paths) > 1}
    assert 'prcc_cal.py' in shared          # the case this test is about
    for stem, paths in shared.items():
        work_dirs = [load_config(p).work_dir for p in sorted(paths)]
        assert len(set(work_dirs)) == len(paths), (stem, work_dirs)
    assert load_config(osp.join(ROOT, 'configs', 'dlcr', 'prcc_cal.py')
                       ).work_dir == 'work_dirs/dlcr_prcc_cal'
    assert load_config(osp.join(ROOT, 'configs', 'cal', 'prcc_cal.py')
                       ).work_dir == 'work_dirs/prcc_cal'


def test_cfg_options_delete_replaces_a_dict_checked_against_its_new_type():
    """`KEY._delete_=True KEY.type=T KEY.arg=...` replaces the dict at KEY
    (mmengine's merge): its keys are checked against T, not the old dict."""
    from reidkit.utils.config_check import ConfigError, check_cfg_options
    cfg = Config(dict(bb=dict(type='ResNetIBN', depth=101), n=1))
    swap = {'bb._delete_': True, 'bb.type': 'TimmBackbone',
            'bb.model_name': 'resnet18'}
    check_cfg_options(cfg, swap)
    cfg.merge_from_dict(swap)
    assert cfg.bb == dict(type='TimmBackbone', model_name='resnet18')
    cfg = Config(dict(bb=dict(type='ResNetIBN', depth=101), n=1))
    with pytest.raises(ConfigError, match="bb.model_name: bb has no key"):
        check_cfg_options(cfg, {'bb.model_name': 'resnet18'})
    with pytest.raises(ConfigError, match="ResNetIBN has no argument "
                                          "'model_name'"):
        check_cfg_options(cfg, {'bb._delete_': True, 'bb.type': 'ResNetIBN',
                                'bb.model_name': 'x'})
    with pytest.raises(ConfigError, match="no key 'bx'"):
        check_cfg_options(cfg, {'bx._delete_': True, 'bx.type': 'ResNetIBN'})
