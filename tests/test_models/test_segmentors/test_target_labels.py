"""Target labels loaded for the log (benchmarks' pseudo-label accuracy) never reach a loss.

One training step from the same weights and random state, with the target batch unlabelled, labelled (in the log
field ``gt_log_seg`` the paired dataset uses, and even as ``gt_sem_seg``), and labelled differently, must leave every
parameter and every loss identical; only ``seg.tgt.pseudo_acc_gt`` may appear/differ.
"""
import pytest
import torch

from rsseg.formats.sample_fields import TARGET_LOG_FIELD
from tests.test_models import stdaseg_utils as stda
from tests.test_models import uda_baseline_utils as uda

LOG_ONLY = 'seg.tgt.pseudo_acc_gt'


def _build(method: str):
    if method == 'stdaseg':
        model = stda.build_model()
        return model, stda.build_optim(model)
    model = uda.build(uda.dacs_cfg() if method == 'dacs' else uda.adaptseg_cfg())
    return model, uda.build_optim(model, with_discriminator=method == 'adaptseg')


def _step(method: str, tgt_labels: bool, label_seed: int = 0, field: str = TARGET_LOG_FIELD):
    """One train step of a freshly built (seeded) model; returns (log vars, parameters after the step)."""
    model, optim = _build(method)
    batch = stda.paired_batch(seed=1, tgt_labels=tgt_labels)
    if tgt_labels:  # other target labels, same images, in ``field``
        g = torch.Generator().manual_seed(label_seed)
        for sample in batch['data_samples']['tgt']:
            labels = sample.gt_sem_seg
            labels.data = torch.randint(0, stda.NUM_CLASSES, labels.data.shape, generator=g)
            if field != 'gt_sem_seg':
                del sample.gt_sem_seg
                sample.set_field(labels, field)
    torch.manual_seed(0)
    log_vars = model.train_step(batch, optim)
    return log_vars, stda.state(model)


@pytest.mark.parametrize('field', [TARGET_LOG_FIELD, 'gt_sem_seg'])
@pytest.mark.parametrize('method', ['stdaseg', 'dacs', 'adaptseg'])
def test_target_labels_change_no_loss_and_no_weight(method, field):
    plain_log, plain_state = _step(method, tgt_labels=False)
    for label_seed in (0, 1):
        log, state = _step(method, tgt_labels=True, label_seed=label_seed, field=field)
        assert set(log) - {LOG_ONLY} == set(plain_log)
        for key, value in plain_log.items():
            assert torch.equal(log[key], value), f'{method}: {key} changed with the target labels'
        for key, value in plain_state.items():
            assert torch.equal(state[key], value), f'{method}: parameter {key} changed with the target labels'


@pytest.mark.parametrize('method', ['stdaseg', 'dacs'])
def test_pseudo_label_accuracy_is_logged_against_target_labels(method):
    plain_log, _ = _step(method, tgt_labels=False)
    assert LOG_ONLY not in plain_log
    logs = [_step(method, tgt_labels=True, label_seed=s)[0][LOG_ONLY] for s in (0, 1)]
    assert all(0.0 <= float(v) <= 100.0 for v in logs)
    assert float(logs[0]) != float(logs[1])  # it reads the labels it is given


def test_ground_truth_agreement_counts_valid_pixels_only():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from rsseg.models.utils import ground_truth_agreement
    labels = torch.tensor([[[0, 1], [2, 255]]])
    sample = SegDataSample()
    sample.set_field(PixelData(data=torch.tensor([[[0, 2], [255, 1]]])), TARGET_LOG_FIELD)
    # (0,0) agrees, (0,1) disagrees, (1,0) unlabelled, (1,1) padding: 1 of 2
    assert float(ground_truth_agreement(labels, [sample])) == pytest.approx(50.0)
    assert ground_truth_agreement(labels, [SegDataSample()]) is None


def test_ground_truth_agreement_reads_unpadded_labels():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from rsseg.models.utils import ground_truth_agreement
    labels = torch.tensor([[[0, 1, 255], [1, 1, 255]]])  # padded to width 3 by the preprocessor
    sample = SegDataSample()
    sample.set_field(PixelData(data=torch.tensor([[[0, 0], [1, 1]]])), TARGET_LOG_FIELD)  # 2×2, unpadded
    assert float(ground_truth_agreement(labels, [sample])) == pytest.approx(75.0)
