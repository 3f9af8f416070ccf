"""Training the project's own DeepFill v2 weights (guide channel on): data, losses, the loop, the relay.

The holes and guides it draws are the core's (`hole_masks.py`, `guide.py`): `bench` draws the same ones.

Entry points: `inpaint_core.train.loop.train(config, run_dir)` and `python main.py train` (docs/TRAINING.md).
Submodules are imported on use: importing one does not pull in the whole trainer.
"""
