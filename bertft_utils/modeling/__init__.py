"""The model itself: loading checkpoints and tokenizers (with label maps), tokenizing into Arrow columns, extending
the vocabulary, the CRF layer. Sits on `data`, `runtime` and `config`."""
