"""How weights are trained: our Trainer subclass and its train/evaluate/predict steps, checkpoints and resuming,
the masked-LM warm-up and the hyperparameter search. Sits on `modeling`, `evaluation`, `runtime`, `data`, `config`."""
