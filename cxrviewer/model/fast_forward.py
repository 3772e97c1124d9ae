"""Inference-only forms of a loaded EfficientNet-Lite classifier on the CPU (no Qt, no TorchScript).

``optimise_for_inference(model, input_size)`` rewrites a loaded, eval-mode model in place:

1. BatchNorm folding: every conv followed by a BatchNorm gets the BatchNorm's scale in
   its weights and its shift as a bias; the BatchNorm becomes its activation (ReLU6) or
   nothing. Eval-mode BatchNorm is an affine map, so this is the same function up to
   float rounding.
2. Channels-last activations (NHWC), a layout oneDNN's CPU convolutions take as it is.
3. oneDNN convolutions with the weights reordered once, here, into oneDNN's own layout,
   and ReLU6 and each block's residual add applied as post-ops of the convolution that
   precedes them: what ``torch.jit.optimize_for_inference`` does to a frozen graph, kept
   in eager mode, so it costs about a fifth of a second at load instead of nearly two and
   Grad-CAM still hooks its layer and takes its gradient. Uses ``torch.ops.mkldnn``
   (PyTorch's own fused-convolution ops, the ones torch.compile's CPU backend calls); where
   they are missing or fail, the model keeps steps 1 and 2 only.

Module names that model.json refers to keep their meaning: the stages (``stages.N``, the
CAM target and OOD tap layers) and the blocks inside them (``stages.N.M``) output what
they did before. Deeper names (a single conv) may not survive, so a model whose
``cam_target_layer`` or OOD layer names one is left as it is.

Measured (benchmarks/bench_forward.py, README "Forward pass", one thread): the bundled
Lite0's forward with its OOD features in 0.63x the time of the model as loaded at batch 1
and 0.45x at batch 8 (the Grad-CAM pass 0.64x and 0.48x), probabilities within 1e-5 and
Grad-CAM maps correlated above 0.9999 on 32 real images; rewriting costs 0.17-0.25 s.
tests/inference/test_fast_forward.py checks the exactness on real images. The rewritten
model cannot be trained (``train()`` raises) and its state dict is not the model file's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from .architectures import CxrClassifier
from .efficientnet_lite import BatchNormAct2d, DepthwiseSeparableConv, InvertedResidual

log = logging.getLogger(__name__)

NONE, FOLDED, FUSED = "none", "folded-channels-last", "onednn-fused"
PROBE_SIZE = 64  # the check that the fused ops run: 2 x 2 at the last stage

# (conv, the BatchNorm after it) inside each block type, in forward order.
_BLOCK_PAIRS: dict[type, tuple[tuple[str, str], ...]] = {
    DepthwiseSeparableConv: (("conv_dw", "bn1"), ("conv_pw", "bn2")),
    InvertedResidual: (("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3")),
}


def optimise_for_inference(model: CxrClassifier, input_size: int, layers: Iterable[str] = ()) -> str:
    """Rewrite ``model`` (eval mode, on the CPU) in place; return which form it now has.

    ``layers``: the module names the caller will look up (CAM target, OOD tap); the model
    is left unchanged (NONE) when one of them is deeper than a block, or when the model is
    not an EfficientNet-Lite (the only one measured).
    """
    if model.training:
        raise ValueError("optimise_for_inference needs a model in eval mode")
    if not supported(model, layers):
        return NONE
    fold_batch_norms(model)
    model.inference_only = True
    model.input_memory_format = torch.channels_last
    if _fused_ops_available():
        try:
            _fuse(model, input_size)  # every conv replaced: its packed weights have their own layout
            return FUSED
        except (RuntimeError, NotImplementedError) as exc:  # an op missing or refused on this CPU/build
            log.info("oneDNN fused convolutions unavailable (%s): BatchNorm folded, channels-last", exc)
    model.to(memory_format=torch.channels_last)
    return FOLDED


def supported(model: nn.Module, layers: Iterable[str] = ()) -> bool:
    """An EfficientNet-Lite whose named layers are stages (``stages.N``) or blocks (``stages.N.M``)."""
    if not isinstance(model, CxrClassifier) or not model.arch.startswith("efficientnet_lite"):
        return False
    return all(_keeps_meaning(model, name) for name in layers if name)


def _keeps_meaning(model: CxrClassifier, name: str) -> bool:
    parts = name.split(".")
    if parts[0] != "stages" or len(parts) not in (2, 3):
        return False
    try:
        module = model.get_submodule(name)
    except AttributeError:
        return False
    return len(parts) == 2 or type(module) in _BLOCK_PAIRS


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """Fold each eval-mode BatchNorm into the conv before it (Lite blocks, and conv -> BN in a Sequential)."""
    for module in list(model.modules()):
        pairs = _BLOCK_PAIRS.get(type(module))
        if pairs:
            for conv_name, bn_name in pairs:
                setattr(module, bn_name, _fold(getattr(module, conv_name), getattr(module, bn_name)))
        elif isinstance(module, nn.Sequential):
            children = list(module._modules.items())
            for (_, first), (name, second) in zip(children, children[1:]):
                if isinstance(first, nn.Conv2d) and type(second) in (nn.BatchNorm2d, BatchNormAct2d):
                    module._modules[name] = _fold(first, second)
    return model


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Module:
    weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps,
                                        bn.weight, bn.bias)
    conv.weight = nn.Parameter(weight.detach(), requires_grad=False)
    conv.bias = nn.Parameter(bias.detach(), requires_grad=False)
    return bn.act if isinstance(bn, BatchNormAct2d) else nn.Identity()


def _fused_ops_available() -> bool:
    ops = getattr(torch.ops, "mkldnn", None)
    try:
        return torch.backends.mkldnn.is_available() and ops is not None and hasattr(ops, "_convolution_pointwise")
    except (AttributeError, RuntimeError):
        return False


class FusedConv(nn.Module):
    """A folded conv (+ ReLU6) as one oneDNN convolution, its weights reordered once for ``input_shape``.

    ``forward(x, residual)`` adds ``residual`` as a post-op. Inference only: no autograd formula,
    so nothing before a Grad-CAM layer may need a gradient (the engine freezes the weights and
    takes the gradient at the CAM layer's output).
    """

    def __init__(self, conv: nn.Conv2d, relu6: bool, input_shape: list[int]) -> None:
        super().__init__()
        self.conv_args = (list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups)
        self.relu6 = relu6
        # Plain attributes, not buffers: oneDNN tensors have no storage for state_dict or deepcopy.
        self.packed_weight = torch._C._nn.mkldnn_reorder_conv2d_weight(
            conv.weight.detach().contiguous().to_mkldnn(), *self.conv_args, list(input_shape))
        self.bias = conv.bias.detach().contiguous()

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        unary, scalars = ("hardtanh", [0.0, 6.0]) if self.relu6 else ("none", [])
        if residual is None:
            return torch.ops.mkldnn._convolution_pointwise(x, self.packed_weight, self.bias, *self.conv_args,
                                                           unary, scalars, "")
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, residual, self.packed_weight, self.bias, *self.conv_args, "add", None,
            unary if self.relu6 else None, scalars, None)


class FusedBlock(nn.Module):
    """A folded Lite block (depthwise-separable or inverted residual) as fused convs."""

    def __init__(self, has_skip: bool, convs: list[FusedConv]) -> None:
        super().__init__()
        self.has_skip = has_skip
        self.convs = nn.ModuleList(convs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for conv in self.convs[:-1]:
            y = conv(y)
        return self.convs[-1](y, x if self.has_skip else None)


Replaced = list[tuple[nn.Module, str, nn.Module]]  # (container, child name, the child it replaced)


def _fuse(model: CxrClassifier, input_size: int) -> None:
    """Blocks -> FusedBlock, conv (+ ReLU6) -> FusedConv; undone if the fused ops fail here."""
    shapes = _input_shapes(model, input_size)
    replaced: Replaced = []

    def replace(container: nn.Module, name: str, new: nn.Module) -> None:
        replaced.append((container, name, container._modules[name]))
        container._modules[name] = new

    try:
        for container in _stage_containers(model):
            names = list(container._modules)
            for position, name in enumerate(names):
                child = container._modules[name]
                pairs = _BLOCK_PAIRS.get(type(child))
                if pairs:
                    convs = [FusedConv(getattr(child, c), not isinstance(getattr(child, b), nn.Identity),
                                       shapes[getattr(child, c)]) for c, b in pairs]
                    replace(container, name, FusedBlock(child.has_skip, convs))
                elif isinstance(child, nn.Conv2d) and child in shapes:
                    after = names[position + 1] if position + 1 < len(names) else None
                    relu6 = after is not None and isinstance(container._modules[after], nn.ReLU6)
                    replace(container, name, FusedConv(child, relu6, shapes[child]))
                    if relu6:
                        replace(container, after, nn.Identity())
        with torch.inference_mode():  # run it once, small: a refused op raises here, not on a user's image
            model.forward_with_features(torch.zeros(1, 1, PROBE_SIZE, PROBE_SIZE))
    except BaseException:
        for container, name, original in reversed(replaced):
            container._modules[name] = original
        raise


def _stage_containers(model: CxrClassifier) -> list[nn.Module]:
    """The Sequentials whose children are convs or blocks: stem/head stages and block groups."""
    roots = list(model.stages) + ([model.ood_stage] if model.ood_stage is not None else [])
    return [m for root in roots for m in root.modules() if isinstance(m, nn.Sequential)]


def _input_shapes(model: CxrClassifier, input_size: int) -> dict[nn.Module, list[int]]:
    """Each conv's input shape at batch 1, for the packed layout (other batch sizes reuse it), worked
    out from the convs' strides: a probing forward cost about 50 ms of the model load."""
    shapes: dict[nn.Module, list[int]] = {}
    height = width = input_size
    for stage in model.stages:
        for conv in _convs(stage):  # registration order is forward order in Lite stages and blocks
            shapes[conv] = [1, conv.in_channels, height, width]
            height, width = (_conv_out(n, conv, axis) for axis, n in enumerate((height, width)))
    if model.ood_stage is not None:
        for original, copied in zip(_convs(model.stages[model.ood_tap]), _convs(model.ood_stage), strict=True):
            shapes[copied] = shapes[original]
    return shapes


def _convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def _conv_out(size: int, conv: nn.Conv2d, axis: int) -> int:
    kernel, stride = conv.kernel_size[axis], conv.stride[axis]
    padding, dilation = conv.padding[axis], conv.dilation[axis]
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
