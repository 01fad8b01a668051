"""Target selection (seeded 1 %) and BLIP-2 captions in the fine-tuning layout."""
import json
import os.path as osp

import pytest

from plugins.vehicle_diff.target import (caption_target, select_target_images,
                                         target_train_images)


def test_one_percent_of_veri_and_cityflow():
    veri = [f'{i:05d}.jpg' for i in range(37778)]   # VeRi-776 image_train
    city = [f'{i:05d}.jpg' for i in range(52717)]   # CityFlowV2 image_train
    assert len(select_target_images(veri)) == 378    # the paper's counts
    assert len(select_target_images(city)) == 527
    a = select_target_images(veri, seed=3)
    assert a == select_target_images(list(reversed(veri)), seed=3)
    assert a != select_target_images(veri, seed=4)
    assert a == sorted(set(a))
    assert len(select_target_images(veri, num_images=5)) == 5
    with pytest.raises(ValueError, match='cannot pick'):
        select_target_images(veri[:3], num_images=4)


def test_caption_target_writes_what_the_finetune_dataset_reads(toy_veri,
                                                              tmp_path):
    from synthgen.finetune import CaptionedImageDataset
    from synthgen.prompts.captioner import VLMCaptioner
    from synthgen.testing import tiny_blip2
    model, processor = tiny_blip2()
    cap = VLMCaptioner(model=model, processor=processor, model_type='blip2',
                       question='', max_new_tokens=3, batch_size=4)
    dataset = dict(type='VeRi776', data_root=toy_veri, split='train')
    n_train = len(target_train_images(dataset))
    out = str(tmp_path / 'captions.json')
    caps = caption_target(dataset, cap, out, fraction=0.1, seed=0)
    assert len(caps) == round(0.1 * n_train)
    assert all(k.startswith('image_train/') for k in caps)
    assert json.load(open(out)) == caps
    ds = CaptionedImageDataset(toy_veri, out, size=(16, 16))
    assert sorted(osp.relpath(d['img_path'], toy_veri) for d in ds.data_list) \
        == sorted(caps)
    # a second run reads the cache: no model call
    cap.caption = None
    assert caption_target(dataset, cap, out, fraction=0.1, seed=0) == caps
    with pytest.raises(FileNotFoundError, match='data_root'):
        caption_target(dict(dataset, data_root=str(tmp_path / 'no')), cap, out)
