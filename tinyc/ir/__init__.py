"""The intermediate representation: tensors, nodes, graphs."""

from tinyc.ir.graph import Graph, Node
from tinyc.ir.tensor import DTYPES, Quant, Tensor

__all__ = ["DTYPES", "Graph", "Node", "Quant", "Tensor"]
