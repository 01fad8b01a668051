"""Batches shaped as mmengine's pseudo_collate gives them, for model tests."""
import torch


def make_batch(n=8, h=64, w=32, num_pids=4, num_clothes=8, modality=None,
               domain=None):
    """A batch as mmengine's pseudo_collate gives it (uint8 CHW RGB)."""
    inputs = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
              for _ in range(n)]
    samples = []
    for i in range(n):
        pid = i % num_pids
        samples.append(dict(
            pid=pid, camid=i % 3, clothes_id=(2 * pid + (i // num_pids) % 2)
            % num_clothes,
            modality=(i % 2) if modality is None else modality,
            domain=(i // (n // 2)) if domain is None else domain,
            split='train', img_path=f'/x/{i}.jpg', sample_idx=i, track_id=-1))
    return dict(inputs=inputs, data_samples=samples)
