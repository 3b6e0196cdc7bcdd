"""PyTorch (via the verified ONNX graph) -> Caffe in the HiLens Kit's operator subset.

``net`` is the in-memory Caffe net with shape inference, ``lowering`` maps each ONNX op onto allowed
layers, ``rules`` checks a net against the Kit's rules, ``writer`` renders the prototxt and caffemodel.
"""
