"""EfficientNet-Lite0/1/2 in plain torch, with timm's module names, so no timm import is needed.

Importing timm costs about 1 s on two cores: it imports torchvision, and
torchvision.ops imports ``torch._dynamo``, none of which inference uses. This
file rebuilds exactly the network ``timm.create_model("efficientnet_liteN",
num_classes=0)`` builds (timm 1.0: ``_gen_efficientnet_lite``) with the same
attribute names (conv_stem, bn1, blocks.N.M.conv_dw / bn1 / conv_pw / bn2 /
conv_pwl / bn3, conv_head, bn2), so every state dict key and shape is the one
timm gives, and shipped weights load unchanged. Modules are created in timm's
order and initialised as timm does (``_init_weight_goog``), so a seeded random
model is the same tensor for tensor; tests/training/test_efficientnet_lite.py
checks keys, shapes, the random init and the outputs against timm when it is
installed.

Lite variants: ReLU6, no squeeze-excite, a fixed 32-channel stem and
1280-channel head, symmetric padding, the first and last block groups never
deepened.

``output_stride=16`` follows timm's ``output_stride`` (DeepLab's atrous trick): the
last stride-2 block group keeps its resolution and the depthwise convolutions after
it are dilated by 2, so the last feature map (the Grad-CAM layer) is 14x14 at 224 px
instead of 7x7. The state dict is unchanged, so ImageNet and trained weights load as
they are; a network trained at stride 32 computes nearly the same features.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# timm's arch_def for efficientnet_lite: (block type, repeats, kernel, stride, expansion, out channels)
_ARCH = (
    ("ds", 1, 3, 1, 1, 16),
    ("ir", 2, 3, 2, 6, 24),
    ("ir", 2, 5, 2, 6, 40),
    ("ir", 3, 3, 2, 6, 80),
    ("ir", 3, 5, 1, 6, 112),
    ("ir", 4, 5, 2, 6, 192),
    ("ir", 1, 3, 1, 6, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# name -> (channel multiplier, depth multiplier), as timm's efficientnet_lite0/1/2
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0),
    "efficientnet_lite1": (1.0, 1.1),
    "efficientnet_lite2": (1.1, 1.2),
}


def make_divisible(value: float, divisor: int = 8, round_limit: float = 0.9) -> int:
    """timm.layers.make_divisible: the nearest multiple of ``divisor``, never 10% below ``value``."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < round_limit * value:
        new += divisor
    return new


class BatchNormAct2d(nn.BatchNorm2d):
    """BatchNorm2d followed by an activation: timm's BatchNormAct2d (same state dict, same maths)."""

    def __init__(self, channels: int, act: bool = True) -> None:
        super().__init__(channels)
        self.drop = nn.Identity()
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.drop(super().forward(x)))


OUTPUT_STRIDES = (16, 32)


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=((stride - 1) + dilation * (kernel - 1)) // 2,
                     dilation=dilation, groups=groups, bias=False)


class DepthwiseSeparableConv(nn.Module):
    """dw conv -> bn+act -> pw conv -> bn (+ skip): timm's DepthwiseSeparableConv as Lite uses it."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, dilation: int = 1) -> None:
        super().__init__()
        self.has_skip = stride == 1 and cin == cout
        self.conv_dw = _conv(cin, cin, kernel, stride, groups=cin, dilation=dilation)
        self.bn1 = BatchNormAct2d(cin)
        self.aa = nn.Identity()
        self.se = nn.Identity()
        self.conv_pw = _conv(cin, cout, 1)
        self.bn2 = BatchNormAct2d(cout, act=False)
        self.drop_path = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.bn1(self.conv_dw(x))
        x = self.bn2(self.conv_pw(self.se(self.aa(x))))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class InvertedResidual(nn.Module):
    """pw expand -> bn+act -> dw conv -> bn+act -> pw project -> bn (+ skip): timm's InvertedResidual."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expansion: int, dilation: int = 1) -> None:
        super().__init__()
        mid = make_divisible(cin * expansion)
        self.has_skip = stride == 1 and cin == cout
        self.conv_pw = _conv(cin, mid, 1)
        self.bn1 = BatchNormAct2d(mid)
        self.conv_dw = _conv(mid, mid, kernel, stride, groups=mid, dilation=dilation)
        self.bn2 = BatchNormAct2d(mid)
        self.aa = nn.Identity()
        self.se = nn.Identity()
        self.conv_pwl = _conv(mid, cout, 1)
        self.bn3 = BatchNormAct2d(cout, act=False)
        self.drop_path = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.bn1(self.conv_pw(x))
        x = self.bn2(self.conv_dw(x))
        x = self.bn3(self.conv_pwl(self.se(self.aa(x))))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


def _depths(depth_multiplier: float) -> list[int]:
    """Repeats per block group: ceil(r * multiplier), the first and last groups fixed (timm's fix_first_last)."""
    last = len(_ARCH) - 1
    return [r if i in (0, last) else int(math.ceil(r * depth_multiplier)) for i, (_, r, *_rest) in enumerate(_ARCH)]


class EfficientNetLiteFeatures(nn.Module):
    """The backbone with timm's attribute names; forward -> (N, 1280, S/os, S/os), os = output_stride."""

    def __init__(self, channel_multiplier: float = 1.0, depth_multiplier: float = 1.0, in_channels: int = 3,
                 init: bool = True, output_stride: int = 32) -> None:
        """``init=False`` skips timm's weight init (for a model whose every tensor is loaded next)."""
        super().__init__()
        if output_stride not in OUTPUT_STRIDES:
            raise ValueError(f"output stride must be one of {OUTPUT_STRIDES}, got {output_stride}")
        self.conv_stem = _conv(in_channels, STEM_CHANNELS, 3, stride=2)
        self.bn1 = BatchNormAct2d(STEM_CHANNELS)
        # timm's EfficientNetBuilder probes its squeeze-excite class here with an 8-channel layer
        # (two biased 1x1 convs, then dropped); drawing the same random numbers keeps a seeded
        # model identical to timm's.
        nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1)
        groups: list[nn.Module] = []
        cin, current_stride, dilation = STEM_CHANNELS, 2, 1
        for (kind, _, kernel, stride, expansion, channels), repeats in zip(_ARCH, _depths(depth_multiplier)):
            cout = make_divisible(channels * channel_multiplier)
            # timm's EfficientNetBuilder: past the output stride a stride becomes a dilation, from
            # the block after the one that would have strided.
            next_dilation = dilation
            if current_stride * stride > output_stride:
                next_dilation, stride = dilation * stride, 1
            current_stride *= stride
            blocks: list[nn.Module] = []
            for index in range(repeats):
                s = stride if index == 0 else 1
                d = dilation if index == 0 else next_dilation
                if kind == "ds":
                    blocks.append(DepthwiseSeparableConv(cin, cout, kernel, s, d))
                else:
                    blocks.append(InvertedResidual(cin, cout, kernel, s, expansion, d))
                cin = cout
            dilation = next_dilation
            groups.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*groups)
        self.conv_head = _conv(cin, HEAD_CHANNELS, 1)
        self.bn2 = BatchNormAct2d(HEAD_CHANNELS)
        self.num_features = HEAD_CHANNELS
        if init:
            for module in self.modules():
                _init_weight_goog(module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))


def _init_weight_goog(module: nn.Module) -> None:
    """timm's _init_weight_goog (fix_group_fanout=True) for the layer types used here."""
    if isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
        nn.init.normal_(module.weight, 0, math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def efficientnet_lite(name: str, init: bool = True, output_stride: int = 32) -> EfficientNetLiteFeatures:
    """``name``: efficientnet_lite0/1/2, as timm names them."""
    try:
        channel_multiplier, depth_multiplier = VARIANTS[name]
    except KeyError:
        raise ValueError(f"not an EfficientNet-Lite variant: {name!r}") from None
    return EfficientNetLiteFeatures(channel_multiplier, depth_multiplier, init=init, output_stride=output_stride)
