"""Tiny language models (llama2.c family) -> heap-free C: frontend, quant, lowering, reference, codegen.

    model = load_checkpoint("stories260K.bin")             # frontend -> LlamaModel (or from_torch(module),
                                                           # load_torch("ckpt.pt"): llama2.c model.py layout)
    plan = lower(model, QuantScheme.named("int8"), context=256)   # quant + lower -> LlmPlan
    Decoder(plan).forward(token, pos)                      # reference runtime (bit-exact with the C)
    write_c(plan, out_dir, tokenizer=tok)                  # C library + firmware-style main
"""

from tinyc.llm.checkpoint import load_checkpoint, save_checkpoint
from tinyc.llm.generate import generate
from tinyc.llm.model import BOS, LlamaConfig, LlamaModel
from tinyc.llm.plan import LlmPlan, lower
from tinyc.llm.quant import QuantScheme
from tinyc.llm.runtime import Decoder
from tinyc.llm.sampler import Sampler
from tinyc.llm.tokenizer import Tokenizer
from tinyc.llm.torch_frontend import from_torch, load_torch

__all__ = ["BOS", "Decoder", "LlamaConfig", "LlamaModel", "LlmPlan", "QuantScheme", "Sampler", "Tokenizer",
           "from_torch", "generate", "load_checkpoint", "load_torch", "lower", "save_checkpoint"]
