"""The model itself: loading checkpoints and tokenizers (with label maps), extending the vocabulary, the CRF layer.
Sits on `data`, `runtime` and `config`."""
