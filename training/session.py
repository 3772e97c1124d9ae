"""One training run: data -> model -> epochs with checkpoints -> finalize (calibrate, OOD, export)."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset, WeightedRandomSampler

from cxrviewer.model.architectures import CxrClassifier, build_model
from cxrviewer.model.preprocess import PreprocessConfig
from cxrviewer.model.weights import load_imagenet, load_pretrained

from . import metrics
from .augment import AugmentConfig
from .checkpoint import BEST_NAME, CHECKPOINT_NAME, load_checkpoint, plain_args, save_checkpoint
from .data import (
    DataError,
    DataSet,
    Sample,
    class_weights,
    group_balance_weights,
    load_dataset,
    sample_weights,
    split_samples,
)
from .datasets import CachedFeatureDataset, ImageDataset
from .distributed import DistInfo, barrier, broadcast_object, gather_objects
from .engine import CamLossWeights, EpochOutputs, evaluate, train_one_epoch
from .feature_cache import build_view, cache_key, view_masks
from .finalize import finalize_run
from .presets import TrainOptions

log = logging.getLogger("training")


class TrainingSession:
    def __init__(self, args, options: TrainOptions, device: torch.device, dist_info: DistInfo,
                 command: str = "") -> None:
        self.args = args
        self.opt = options
        self.command = command  # the `cxr train` line that reproduces this run, for the card
        self.device = device
        self.dist = dist_info
        self.out: Path = args.out
        self.show_progress = dist_info.is_main and not args.no_progress
        self.cam_weights = CamLossWeights(options.cam_lung_weight, options.cam_infection_weight)
        needs_lungs = options.lung_crop or options.cam_lung_weight > 0
        self.segmenter = self._lung_segmenter() if needs_lungs else None
        self.preprocessing = PreprocessConfig(
            input_size=options.img_size, intensity=options.intensity, crop_border=options.crop_border,
            lung_crop=options.lung_crop,
            lung_model=self.segmenter.weights_sha256 if options.lung_crop else "",
        )
        self.lung_boxes: dict = {}
        self.train_masks: dict | None = None  # path -> stored lung/infection masks, for the CAM losses
        self.augmentation = AugmentConfig.from_names(options.augment, args.hflip, options.augment_p)

    # ---- data -------------------------------------------------------------
    def load_data(self) -> None:
        labels = [s.strip() for s in self.args.labels.split(",")] if self.args.labels else None
        problem = None
        data = None
        try:
            # Only the main process decodes every image; the others wait for its verdict.
            data = load_dataset(self.args.data, labels, check_images=self.dist.is_main and not self.args.skip_image_check)
        except DataError as exc:
            problem = str(exc)
        problem = broadcast_object(problem, self.dist)
        if problem:
            raise DataError(problem)
        assert data is not None
        self.data: DataSet = data
        self.labels = data.labels
        samples = split_samples(data.samples, self.opt.val_fraction, self.opt.test_fraction, self.opt.seed)
        self.splits: dict[str, list[Sample]] = {k: [s for s in samples if s.split == k] for k in ("train", "val", "test")}
        if not self.splits["train"] or not self.splits["val"]:
            raise DataError("the data needs images in both the train and the val split")
        counts = {k: len(v) for k, v in self.splits.items()}
        log.info("data: %s, classes %s, images per split %s", Path(data.description).name, list(self.labels), counts)
        if self.opt.lung_crop:
            self._find_lungs()
        if self.cam_weights.enabled:
            self._find_masks()

    def _lung_segmenter(self):
        from cxrviewer.model.lung_model import LungSegmenter
        from cxrviewer.resources import bundled_lung_model_dir

        return LungSegmenter.from_dir(self.opt.lung_model or bundled_lung_model_dir(), device=self.device)

    def _find_lungs(self) -> None:
        from .lung_boxes import lung_boxes

        root = Path(self.opt.cache_dir) if self.opt.cache_dir else self.out / "cache"
        name = f"lung-boxes-{self.segmenter.weights_sha256[:16]}.json"
        everything = [s for split in self.splits.values() for s in split]
        if self.dist.is_main:
            self.lung_boxes = lung_boxes(everything, self.segmenter, root / name)
        self.lung_boxes = broadcast_object(self.lung_boxes, self.dist)

    def _find_masks(self) -> None:
        from .lung_masks import training_masks

        root = Path(self.opt.cache_dir) if self.opt.cache_dir else self.out / "cache"
        key = self.segmenter.weights_sha256[:16] if self.segmenter is not None else "drawn"
        name = f"lung-masks-{key}-{self.data.manifest_sha256[:16]}.npz"
        if self.dist.is_main:
            self.train_masks = training_masks(self.splits["train"], self.segmenter, root / name)
        self.train_masks = broadcast_object(self.train_masks, self.dist)

    def label_ids(self, split: str) -> list[int]:
        index = {name: i for i, name in enumerate(self.labels)}
        return [index[s.label] for s in self.splits[split]]

    # ---- model ------------------------------------------------------------
    def build_model(self) -> CxrClassifier:
        model = build_model(self.opt.arch, len(self.labels), self.opt.dropout)
        weights = str(self.opt.weights)
        if weights == "imagenet":
            if not load_imagenet(model):
                log.warning("no ImageNet weights are installed for %s; starting from random init", model.arch)
        elif weights != "none":
            load_pretrained(model, weights)
        frozen = self.opt.freeze_stages
        if frozen > len(model.stages) - 1:
            raise ValueError(f"--freeze-stages {frozen}: {model.arch} has {len(model.stages)} stages; leave one to train")
        for stage in list(model.stages)[:frozen]:
            stage.requires_grad_(False)
        return model.to(self.device)

    # ---- loaders ----------------------------------------------------------
    def build_datasets(self, model: CxrClassifier) -> None:
        train_ids, val_ids = self.label_ids("train"), self.label_ids("val")
        seed = self.opt.seed
        if self.opt.cache_features:
            self.start_stage = self.opt.cache_stages
            if model.ood_tap < self.start_stage:
                # The OOD descriptor must come from a stage the cached runs still compute.
                model.ood_tap = self.start_stage
                log.info("OOD descriptor taken at %s (after the cached stages)", model.ood_layer)
            train_views, train_masks = self._cached_views(model, "train", self.opt.cache_views, self.train_masks)
            val_views, _ = self._cached_views(model, "val", 1)
            self.train_set = CachedFeatureDataset(train_views, train_ids, seed, masks=train_masks)
            self.train_fit_set = CachedFeatureDataset(train_views[:1], train_ids, seed, random_view=False)
            self.val_set = CachedFeatureDataset(val_views, val_ids, seed, random_view=False)
        else:
            self.start_stage = 0
            boxes = self.lung_boxes
            self.train_set = ImageDataset(self.splits["train"], train_ids, self.preprocessing, self.augmentation, seed, boxes,
                                          self.train_masks)
            self.train_fit_set = ImageDataset(self.splits["train"], train_ids, self.preprocessing, None, seed, boxes)
            self.val_set = ImageDataset(self.splits["val"], val_ids, self.preprocessing, None, seed, boxes)

    def _cached_views(self, model: CxrClassifier, split: str, views: int,
                      masks: dict | None = None) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """The split's cached feature maps per view, and with ``masks`` each view's mask shares too."""
        settings = {
            "arch": self.opt.arch, "weights": str(self.opt.weights),
            "pre": self.preprocessing.to_dict(), "aug": sorted(self.augmentation.enabled),
            "aug_p": self.augmentation.probability, "seed": self.opt.seed, "manifest": self.data.manifest_sha256,
            "split": split,
        }
        if masks is not None:  # views that carry masks live in a folder of their own
            settings["cam_masks"] = self.segmenter.weights_sha256 if self.segmenter is not None else "drawn"
        root = Path(self.opt.cache_dir) if self.opt.cache_dir else self.out / "cache"
        folder = root / f"{split}-{cache_key(settings)}"
        ids = self.label_ids(split)
        result = []
        for view in range(views):
            augmentation = self.augmentation if view > 0 else None
            dataset = ImageDataset(self.splits[split], ids, self.preprocessing, augmentation, self.opt.seed,
                                   self.lung_boxes, masks)
            result.append(build_view(folder, model, dataset, view, self.opt.cache_stages, self.device, self.dist,
                                     self.opt.batch_size, self.opt.workers,
                                     dataset.mask_grid if masks is not None else None))
        return result, ([view_masks(folder, v) for v in range(views)] if masks is not None else None)

    def train_loader(self) -> DataLoader:
        # Reseeded every epoch (see _epochs): the order of epoch k never depends on
        # earlier epochs, so a resumed run draws exactly what an uninterrupted one would.
        self.shuffle_generator = torch.Generator().manual_seed(self.opt.seed)
        sampler = None
        if self.dist.enabled:
            sampler = DistributedSampler(self.train_set, self.dist.world_size, self.dist.rank, shuffle=True, seed=self.opt.seed)
        elif self.args.balanced_sampler:
            weights = sample_weights(self.label_ids("train"), len(self.labels))
            sampler = WeightedRandomSampler(weights, len(weights), replacement=True, generator=self.shuffle_generator)
        generator = self.shuffle_generator
        return DataLoader(
            self.train_set, batch_size=self.opt.batch_size, shuffle=sampler is None, sampler=sampler,
            num_workers=self._workers(), generator=generator, drop_last=len(self.train_set) > self.opt.batch_size,
            pin_memory=self.device.type == "cuda",
        )

    def _workers(self) -> int:
        # Cached feature maps need no decoding: worker processes would only add overhead.
        return 0 if self.opt.cache_features else self.opt.workers

    def eval_outputs(self, model: nn.Module, dataset, with_features: bool = False, desc: str = "val") -> EpochOutputs:
        """Evaluate ``dataset`` sharded over the ranks, gathered and ordered by index on every rank."""
        shard = Subset(dataset, list(range(self.dist.rank, len(dataset), self.dist.world_size)))
        loader = DataLoader(shard, batch_size=self.opt.batch_size, num_workers=self._workers())
        part = evaluate(model, loader, self.device, self.start_stage, with_features, self.show_progress, desc)
        parts = gather_objects(part, self.dist)
        indices = np.concatenate([p.indices for p in parts])
        order = np.argsort(indices)
        return EpochOutputs(
            logits=np.concatenate([p.logits for p in parts])[order],
            labels=np.concatenate([p.labels for p in parts])[order],
            indices=indices[order],
            features=np.concatenate([p.features for p in parts])[order] if with_features else None,
        )

    # ---- optimisation -----------------------------------------------------
    def criterion(self) -> nn.Module:
        weights = None
        if not self.args.no_class_weights:
            weights = torch.from_numpy(class_weights(self.label_ids("train"), len(self.labels))).to(self.device)
            log.info("class weights %s", dict(zip(self.labels, np.round(weights.cpu().numpy(), 3).tolist())))
        reduction = "none" if self.opt.reweight_by else "mean"  # engine takes the weighted mean
        return nn.CrossEntropyLoss(weight=weights, label_smoothing=self.opt.label_smoothing, reduction=reduction)

    def loss_sample_weights(self) -> torch.Tensor | None:
        column = self.opt.reweight_by
        if not column:
            return None
        weights = group_balance_weights(self.splits["train"], column)
        log.info("reweighting by %s: sample weights from %.2f to %.2f", column, weights.min(), weights.max())
        return torch.from_numpy(weights).to(self.device)

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        decay, no_decay = [], []
        for name, param in model.named_parameters():
            if param.requires_grad:
                # No weight decay on norms and biases (timm / torchvision reference practice).
                (no_decay if param.ndim <= 1 else decay).append(param)
        groups = [{"params": decay, "weight_decay": self.opt.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=self.opt.lr)

    def schedulers(self, optimizer, steps_per_epoch: int):
        warmup = max(1, int(self.opt.warmup_epochs * steps_per_epoch))
        total = max(warmup + 1, self.opt.epochs * steps_per_epoch)
        cosine = self.opt.schedule == "cosine"

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            if not cosine:
                return 1.0
            progress = (step - warmup) / max(1, total - warmup)
            return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

        per_step = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        plateau = None
        if not cosine:
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.3, patience=2)
        return per_step, plateau

    # ---- main loop --------------------------------------------------------
    def run(self) -> None:
        self.load_data()
        model = self.build_model()
        self.build_datasets(model)
        if self.args.stop_after_epoch == 0:
            log.info("--stop-after-epoch 0: data checked and feature caches built; no training")
            return
        loader = self.train_loader()
        criterion = self.criterion()
        self.sample_loss_weights = self.loss_sample_weights()
        optimizer = self.optimizer(model)
        per_step, plateau = self.schedulers(optimizer, len(loader))
        scaler = torch.amp.GradScaler("cuda", enabled=self.device.type == "cuda")
        state = self._initial_state(model, optimizer, per_step, plateau, scaler)
        wrapped = self._wrap(model)
        writer = self._tensorboard()
        try:
            self._epochs(model, wrapped, loader, criterion, optimizer, per_step, plateau, scaler, state, writer)
        finally:
            if writer is not None:
                writer.close()
        barrier(self.dist)
        stop = self.args.stop_after_epoch
        if stop is not None and state["epoch"] >= stop and state["epoch"] < self.opt.epochs:
            log.info("stopped after epoch %d as asked; continue with --resume", state["epoch"])
            return
        if self.dist.is_main:
            best = load_checkpoint(self.out / BEST_NAME)
            model.load_state_dict(best["model"])
            finalize_run(self, model, state)
        barrier(self.dist)

    def _wrap(self, model: CxrClassifier) -> nn.Module:
        if not self.dist.enabled:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def _initial_state(self, model, optimizer, per_step, plateau, scaler) -> dict[str, Any]:
        state: dict[str, Any] = {"epoch": 0, "best_f1": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": []}
        path = self.out / CHECKPOINT_NAME
        if not self.args.resume:
            return state
        if not path.is_file():
            log.info("--resume: no checkpoint in %s yet, starting from scratch", self.out)
            return state
        ckpt = load_checkpoint(path)
        saved = ckpt["options"]
        if saved.get("arch") != self.opt.arch or list(ckpt["labels"]) != list(self.labels):
            raise ValueError(f"--resume: {path} was trained with {saved.get('arch')} on {ckpt['labels']}, not "
                             f"{self.opt.arch} on {list(self.labels)}")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        per_step.load_state_dict(ckpt["scheduler"])
        if plateau is not None and ckpt.get("plateau"):
            plateau.load_state_dict(ckpt["plateau"])
        scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["torch_rng"])
        state.update({k: ckpt[k] for k in ("epoch", "best_f1", "best_epoch", "bad_epochs", "history")})
        log.info("resumed from %s after epoch %d (best val macro-F1 %.4f)", path.name, state["epoch"], state["best_f1"])
        return state

    def _epochs(self, model, wrapped, loader, criterion, optimizer, per_step, plateau, scaler, state, writer) -> None:
        for epoch in range(state["epoch"] + 1, self.opt.epochs + 1):
            if state["bad_epochs"] >= self.opt.patience:
                break
            self.train_set.set_epoch(epoch)
            self.shuffle_generator.manual_seed(self.opt.seed * 1000 + epoch)
            if isinstance(loader.sampler, DistributedSampler):
                loader.sampler.set_epoch(epoch)
            started = time.monotonic()
            # Under plateau scheduling the per-step scheduler only does the warm-up;
            # stepping it later would undo the plateau's reductions.
            in_warmup = epoch <= math.ceil(self.opt.warmup_epochs)
            step_scheduler = per_step if plateau is None or in_warmup else None
            train_stats = train_one_epoch(
                wrapped, criterion, optimizer, loader, self.device, epoch, self.start_stage,
                self.opt.freeze_stages, step_scheduler, scaler, self.opt.clip_grad_norm, self.show_progress,
                self.sample_loss_weights, self.cam_weights,
            )
            val = self.eval_outputs(model, self.val_set)
            val_metrics = self._summary(val)
            if plateau is not None and epoch > self.opt.warmup_epochs:
                plateau.step(val_metrics["macro_f1"])
            self._record(epoch, train_stats, val_metrics, time.monotonic() - started, state, writer)
            if self.dist.is_main:
                self._save(model, optimizer, per_step, plateau, scaler, state, epoch, val_metrics)
            barrier(self.dist)
            if self.args.stop_after_epoch is not None and epoch >= self.args.stop_after_epoch:
                break
            if state["bad_epochs"] >= self.opt.patience:
                log.info("early stopping: val macro-F1 has not improved for %d epochs", state["bad_epochs"])
                break

    def _summary(self, outputs: EpochOutputs) -> dict[str, Any]:
        probabilities = torch.softmax(torch.from_numpy(outputs.logits), 1).numpy()
        summary = metrics.classification_metrics(outputs.labels, probabilities, self.labels)
        summary["loss"] = float(nn.functional.cross_entropy(torch.from_numpy(outputs.logits), torch.from_numpy(outputs.labels)))
        return summary

    def _record(self, epoch, train_stats, val_metrics, seconds, state, writer) -> None:
        f1 = val_metrics["macro_f1"] or 0.0
        improved = f1 > state["best_f1"]
        if improved:
            state.update(best_f1=f1, best_epoch=epoch, bad_epochs=0)
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        entry = {"epoch": epoch, "train_loss": train_stats["loss"], "train_accuracy": train_stats["accuracy"],
                 "val_loss": val_metrics["loss"], "val_macro_f1": f1, "val_macro_auc": val_metrics["macro_auc"] or 0.0,
                 "images_per_s": train_stats["images"] * self.dist.world_size / max(seconds, 1e-9)}
        for term in ("outside_lungs", "outside_infection"):  # the CAM losses, when on
            if term in train_stats:
                entry[f"train_cam_{term}"] = train_stats[term]
        state["history"].append(entry)
        cam = "".join(f" | CAM {term.split('_cam_')[1].replace('_', ' ')} {entry[term]:.3f}"
                      for term in entry if term.startswith("train_cam_"))
        log.info("epoch %d: train loss %.4f acc %.3f%s | val loss %.4f macro-F1 %.4f AUC %.4f | %.0f s, %.1f img/s%s",
                 epoch, entry["train_loss"], entry["train_accuracy"], cam, entry["val_loss"], f1,
                 entry["val_macro_auc"], seconds, entry["images_per_s"], " *best*" if improved else "")
        if writer is not None:
            for key, value in entry.items():
                if key != "epoch":
                    writer.add_scalar(key, value, epoch)

    def _save(self, model, optimizer, per_step, plateau, scaler, state, epoch, val_metrics) -> None:
        if state["best_epoch"] == epoch:
            save_checkpoint({"model": model.state_dict(), "epoch": epoch, "val_macro_f1": state["best_f1"]},
                            self.out / BEST_NAME)
        save_checkpoint(
            {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": per_step.state_dict(),
                "plateau": plateau.state_dict() if plateau is not None else {}, "scaler": scaler.state_dict(),
                "torch_rng": torch.get_rng_state(), "labels": list(self.labels), "args": plain_args(self.args),
                "options": self.opt.to_dict(),
                **{k: state[k] for k in ("epoch", "best_f1", "best_epoch", "bad_epochs", "history")},
            },
            self.out / CHECKPOINT_NAME,
        )

    def _tensorboard(self):
        if not (self.args.tensorboard and self.dist.is_main):
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.warning("--tensorboard: tensorboard is not installed; logging to train.log only")
            return None
        return SummaryWriter(str(self.out / "tb"))
