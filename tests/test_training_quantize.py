"""training/quantize.py: which ops of the float model stay float in the 8-bit one."""
import pytest

from arsdk import models
from arsdk.inference import load_model
from training.quantize import float_kept_outputs


def _ops_and_names():
    m = load_model(models.model_path("arsdk_depth"), 1)
    interp = m._interp
    return interp._get_ops_details(), {t["index"]: t["name"] for t in interp.get_tensor_details()}


def test_float_ends_are_the_first_convolution_and_the_last_stage():
    ops, names = _ops_and_names()
    real = [op for op in ops if op["op_name"] != "DELEGATE"]
    kept = float_kept_outputs(ops, names)
    kind = {names[int(op["outputs"][0])]: op["op_name"] for op in real}
    # the input's PAD and first convolution, the last upsampling (2 concatenations, 2 reshapes), the skip ADD,
    # the depthwise and the two pointwise convolutions, the output's MAXIMUM
    assert [kind[n] for n in kept] == ["PAD", "CONV_2D", "CONCATENATION", "RESHAPE", "CONCATENATION", "RESHAPE",
                                       "ADD", "DEPTHWISE_CONV_2D", "CONV_2D", "CONV_2D", "MAXIMUM"]
    assert kept[-1] == names[int(real[-1]["outputs"][0])]


def test_a_graph_without_skips_is_refused():
    ops, names = _ops_and_names()
    no_add = [op for op in ops if op["op_name"] != "ADD"]
    with pytest.raises(ValueError, match="ADD"):
        float_kept_outputs(no_add, names)
