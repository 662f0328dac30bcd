"""sw.graph: which ReLU the accelerator may fuse and what the host computes, from torch.fx."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sw.graph import GraphError, LinearSite, linear_sites


class Two(nn.Module):
    """fc1 -> <activation> -> fc2, the activation given as a callable on the tensor."""

    def __init__(self, act):
        super().__init__()
        self.fc1, self.fc2, self.act = nn.Linear(6, 5), nn.Linear(5, 3), act

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


@pytest.mark.parametrize("act,kind", [
    (nn.ReLU(), "nn.ReLU"), (nn.ReLU(inplace=True), "nn.ReLU"),
    (F.relu, "F.relu"), (lambda t: F.relu(t, inplace=True), "F.relu"),
    (torch.relu, "torch.relu"), (lambda t: t.relu(), "Tensor.relu"), (lambda t: t.relu_(), "Tensor.relu_"),
    (lambda t: t.clamp(min=0), "clamp(min=0)"), (lambda t: torch.clamp(t, min=0), "torch.clamp(min=0)"),
    (lambda t: torch.clamp(t, 0), "torch.clamp(min=0)"),
])
def test_relu_forms_are_fused(act, kind):
    sites = linear_sites(Two(act))
    assert sites[0] == LinearSite("fc1", kind, None, (), False)
    assert sites[1] == LinearSite("fc2", None, "fc1", (), False)


@pytest.mark.parametrize("act", [nn.GELU(), torch.tanh, lambda t: t.clamp(min=0, max=6), lambda t: t.clamp(min=-1),
                                 nn.LeakyReLU()])
def test_other_activations_run_on_the_host(act):
    first, second = linear_sites(Two(act))
    assert first.fused is None
    assert second.input_from is None and second.after_accelerator and second.host_ops


def test_relu_is_fused_and_what_follows_it_runs_on_the_host():
    first, second = linear_sites(Two(lambda t: F.relu(t) * 2))
    assert first.fused == "F.relu"
    assert second == LinearSite("fc2", None, None, ("mul",), True)


def test_relu_is_not_fused_when_the_linear_output_has_another_user():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 4), nn.Linear(4, 2)

        def forward(self, x):
            h = self.fc1(x)
            return self.fc2(F.relu(h) + h)          # h itself is needed: no fusion
    first, second = linear_sites(Skip())
    assert first.fused is None
    assert second.host_ops == ("relu", "add") and second.after_accelerator


def test_dropout_is_looked_through_and_the_front_is_listed():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 4), nn.Dropout(0.5), nn.ReLU(),
                        nn.Linear(4, 2))
    first, second = linear_sites(net, torch.zeros(1, 1, 4, 4))
    assert first == LinearSite("2", "nn.ReLU", None, ("Conv2d", "Flatten"), False)
    assert second.input_from == "2"


def test_a_linear_called_twice_is_refused():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(self.fc(x))
    with pytest.raises(GraphError, match="fc is called 2 times"):
        linear_sites(Twice())


def test_untraceable_model_is_one_line_error():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(x) if x.sum() > 0 else x
    with pytest.raises(GraphError, match="torch.fx cannot trace Branchy") as info:
        linear_sites(Branchy())
    assert "\n" not in str(info.value)
