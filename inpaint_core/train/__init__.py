"""Training the project's own DeepFill v2 weights (guide channel on): data, masks, guides, losses, the loop.

Entry points: `inpaint_core.train.loop.train(config, run_dir)` and `python main.py train` (docs/TRAINING.md).
Submodules are imported on use, so `import inpaint_core.train.masks` does not pull in the whole trainer.
"""
