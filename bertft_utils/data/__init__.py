"""What a run reads: file readers (with line numbers), splits, labels, tag schemes, text transforms and prompt
templates. Sits on `config`."""
