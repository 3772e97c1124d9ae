# PyInstaller runtime hook, added by build.spec only where torchvision's C++ ops
# cannot load in the build environment (a CPU-only torch; spec_data.torchvision_ops_load).
#
# No reachable index has a torchvision for a CPU-only torch: every PyPI torchvision
# wheel is a CUDA build, whose C++ ops library cannot load beside a CPU torch, and
# `import torchvision` then dies registering fake kernels for torchvision::nms and
# ::qnms ("operator torchvision::nms does not exist"). cxrviewer never calls
# torchvision ops; timm only needs torchvision's Python classes (FrozenBatchNorm2d,
# transforms). Declaring the two op schemas (without kernels) lets the import
# finish; calling nms would raise "no kernel registered", and nothing does.
#
# The schemas are declared just before torchvision is first imported, never at
# start-up: the viewer must open its window before torch is imported.
import importlib.abc
import sys


class _DeclareTorchvisionOps(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        import torch

        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
        torch._cxrviewer_torchvision_schemas = lib  # dropping the Library object would undefine the ops
        return None  # the normal finders load torchvision itself


sys.meta_path.insert(0, _DeclareTorchvisionOps())
