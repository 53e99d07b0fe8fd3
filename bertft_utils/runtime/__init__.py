"""Where and how the model's arithmetic runs: fp32/bf16 chosen by measurement, decisions remembered per machine,
malloc settings, length-ordered prediction and the ONNX Runtime backend. Sits on `config`."""
