"""How arsdk's own depth model is made: synthetic data + FastDepth distillation, training, TFLite export,
evaluation. Needs the optional extra: pip install -e .[training]. Not part of the runtime install."""
