"""How predictions are scored and shown: metrics (scikit-learn, seqeval), prediction files, text reports and plots.
Sits on `data` and `config`."""
